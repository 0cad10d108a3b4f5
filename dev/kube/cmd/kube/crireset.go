package main

// cri-reset stops and removes every pod sandbox a CRI runtime holds, the way the kubelet would,
// so the runtime tears down each pod's network namespace and CNI attachment before it stops.

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"
	"go.opentelemetry.io/otel/trace/noop"
	cri "k8s.io/cri-client/pkg"
)

func newCRIResetCommand() *cobra.Command {
	var endpoint string
	command := &cobra.Command{
		Use:   "cri-reset",
		Short: "Stop and remove every pod sandbox of a CRI runtime",
		RunE: func(*cobra.Command, []string) error {
			runtime, err := cri.NewRemoteRuntimeService(endpoint, 10*time.Second, noop.NewTracerProvider(), nil)
			if err != nil {
				return err
			}
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			sandboxes, err := runtime.ListPodSandbox(ctx, nil)
			if err != nil {
				return err
			}
			var failures []error
			for _, sandbox := range sandboxes {
				if err := runtime.StopPodSandbox(ctx, sandbox.Id); err != nil {
					failures = append(failures, fmt.Errorf("stop %s: %w", sandbox.Metadata.Name, err))
				} else if err := runtime.RemovePodSandbox(ctx, sandbox.Id); err != nil {
					failures = append(failures, fmt.Errorf("remove %s: %w", sandbox.Metadata.Name, err))
				}
			}
			fmt.Printf("removed %d pod sandboxes\n", len(sandboxes)-len(failures))
			return errors.Join(failures...)
		},
	}
	command.Flags().StringVar(&endpoint, "runtime-endpoint", "", "CRI socket, e.g. unix:///run/containerd/containerd.sock")
	return command
}
