// Command etcd is etcd's own server, built from go.etcd.io/etcd/server/v3 so that the
// dry-run check can run a real API server on this machine without a container image.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() {
	etcdmain.Main(os.Args)
}
