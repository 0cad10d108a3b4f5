"""Stand-ins for what this machine cannot run: a Kubernetes API server (kube_api) and the
minikube/kubectl/helm/docker/tilt command-line tools (cli). Nothing else is faked."""
