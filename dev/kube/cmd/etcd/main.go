// Command etcd is upstream etcd's own entry point, built from its published server module
// (the repository root's go.mod replaces its modules with local paths, so it cannot be installed).
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() { etcdmain.Main(os.Args) }
