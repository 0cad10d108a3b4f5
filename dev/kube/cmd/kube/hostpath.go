package main

// A host-path volume provisioner that behaves like minikube's storage-provisioner: every claim gets
// its own directory on the node, writable by any pod user. kube-controller-manager's built-in
// host-path provisioner creates root-owned 0750 directories, which a non-root database cannot use
// (host-path volumes ignore fsGroup).

import (
	"context"
	"errors"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/spf13/cobra"
	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/sig-storage-lib-external-provisioner/v11/controller"
)

type hostPathProvisioner struct{ root string }

func (p hostPathProvisioner) Provision(_ context.Context, o controller.ProvisionOptions) (*v1.PersistentVolume, controller.ProvisioningState, error) {
	dir := filepath.Join(p.root, o.PVName)
	if err := os.MkdirAll(dir, 0o777); err != nil {
		return nil, controller.ProvisioningFinished, err
	}
	if err := os.Chmod(dir, 0o777); err != nil { // MkdirAll's mode is masked by the umask
		return nil, controller.ProvisioningFinished, err
	}
	reclaim := v1.PersistentVolumeReclaimDelete
	if o.StorageClass.ReclaimPolicy != nil {
		reclaim = *o.StorageClass.ReclaimPolicy
	}
	directory := v1.HostPathDirectory
	return &v1.PersistentVolume{
		ObjectMeta: metav1.ObjectMeta{Name: o.PVName},
		Spec: v1.PersistentVolumeSpec{
			PersistentVolumeReclaimPolicy: reclaim,
			AccessModes:                   o.PVC.Spec.AccessModes,
			Capacity:                      v1.ResourceList{v1.ResourceStorage: o.PVC.Spec.Resources.Requests[v1.ResourceStorage]},
			PersistentVolumeSource: v1.PersistentVolumeSource{
				HostPath: &v1.HostPathVolumeSource{Path: dir, Type: &directory},
			},
		},
	}, controller.ProvisioningFinished, nil
}

func (p hostPathProvisioner) Delete(_ context.Context, pv *v1.PersistentVolume) error {
	if pv.Spec.HostPath == nil || filepath.Dir(pv.Spec.HostPath.Path) != p.root {
		return &controller.IgnoredError{Reason: "not a volume of this provisioner"}
	}
	return os.RemoveAll(pv.Spec.HostPath.Path)
}

func newHostPathProvisionerCommand() *cobra.Command {
	var kubeconfig, root, name string
	command := &cobra.Command{
		Use:   "hostpath-provisioner",
		Short: "Provision PersistentVolumes as world-writable directories on this node",
		RunE: func(*cobra.Command, []string) error {
			if root == "" || kubeconfig == "" {
				return errors.New("--kubeconfig and --root are required")
			}
			config, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
			if err != nil {
				return err
			}
			client, err := kubernetes.NewForConfig(config)
			if err != nil {
				return err
			}
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			controller.NewProvisionController(ctx, client, name, hostPathProvisioner{root: root},
				controller.LeaderElection(false)).Run(ctx)
			return nil
		},
	}
	command.Flags().StringVar(&kubeconfig, "kubeconfig", "", "kubeconfig of the cluster")
	command.Flags().StringVar(&root, "root", "", "directory that holds one sub-directory per volume")
	command.Flags().StringVar(&name, "provisioner-name", "k8s.io/minikube-hostpath", "provisioner the StorageClass names")
	return command
}
