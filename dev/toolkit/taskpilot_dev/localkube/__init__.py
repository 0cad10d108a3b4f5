"""A single-node Kubernetes cluster from upstream components, run as local processes.

In the spirit of Kubernetes' own hack/local-up-cluster.sh: etcd, kube-apiserver,
kube-controller-manager, kube-scheduler, containerd (runc, CNI bridge), kubelet, kube-proxy,
CoreDNS, a host-path volume provisioner and a local image registry, all built by
dev/kube/build.sh from pinned versions. ``python -m taskpilot_dev.localkube up|down|status``
(or ./dev/kube.sh) drives it; the cluster's kubeconfig is its own file, never ~/.kube/config.
"""
