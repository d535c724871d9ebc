// The pod sandbox's process: it holds the pod's namespaces open and exits on SIGTERM or SIGINT.
// Built by the toolchain (scripts/toolchain/cluster-parts.sh) and packed as the cluster's pause image.
package main

import (
	"os"
	"os/signal"
	"syscall"
)

func main() {
	signals := make(chan os.Signal, 1)
	signal.Notify(signals, syscall.SIGTERM, syscall.SIGINT)
	<-signals
}
