// Command pulumi-language-nodejs is the project's own Node.js language host for the Pulumi engine.
//
// Why it exists: upstream's host lives in its own Go module, which the Go module proxy our machines
// reach does not serve, while the CLI (pkg/v3) and the SDK (sdk/v3) are served. This host is
// deliberately small: it answers the engine's questions about the program (plugins, packages) from
// node_modules and runs the program through the `@pulumi/pulumi/cmd/run` entry point that the npm
// SDK ships, which is the same contract upstream's host uses.
package main

import (
	"flag"
	"fmt"
	"os"
	"os/exec"

	"github.com/pulumi/pulumi/sdk/v3/go/common/util/rpcutil"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/grpc"
)

// version is stamped at build time (-X main.version=...) to the CLI's version.
var version = "0.0.0-dev"

func main() {
	tracing := flag.String("tracing", "", "Zipkin-compatible tracing endpoint (passed on to the program)")
	flag.String("root", "", "project root (the engine also sends it in Run)")
	flag.Bool("binary", false, "unused; accepted for compatibility with the engine's flags")
	flag.Parse()

	engineAddress := ""
	if flag.NArg() > 0 {
		engineAddress = flag.Arg(0)
	}
	nodeBin, err := exec.LookPath("node")
	if err != nil {
		fmt.Fprintln(os.Stderr, "pulumi-language-nodejs: node was not found on PATH")
		os.Exit(1)
	}

	host := &languageHost{nodeBin: nodeBin, engineAddress: engineAddress, tracing: *tracing}
	handle, err := rpcutil.ServeWithOptions(rpcutil.ServeOptions{
		Init: func(srv *grpc.Server) error {
			pulumirpc.RegisterLanguageRuntimeServer(srv, host)
			return nil
		},
		Options: rpcutil.OpenTracingServerInterceptorOptions(nil),
	})
	if err != nil {
		fmt.Fprintf(os.Stderr, "pulumi-language-nodejs: could not start the RPC server: %v\n", err)
		os.Exit(1)
	}
	// The engine reads the port from our first line of output.
	fmt.Printf("%d\n", handle.Port)
	if err := <-handle.Done; err != nil {
		fmt.Fprintf(os.Stderr, "pulumi-language-nodejs: RPC server stopped: %v\n", err)
		os.Exit(1)
	}
}

var _ pulumirpc.LanguageRuntimeServer = (*languageHost)(nil)
