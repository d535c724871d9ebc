package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"

	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/protobuf/types/known/emptypb"
)

// runEntryPoint is the program runner that the npm package @pulumi/pulumi ships.
const runEntryPoint = "@pulumi/pulumi/cmd/run"

type languageHost struct {
	pulumirpc.UnimplementedLanguageRuntimeServer

	nodeBin string
	tracing string

	mu            sync.Mutex
	engineAddress string
}

// Handshake records the engine's address, which newer engines send here instead of on the command line.
func (h *languageHost) Handshake(
	_ context.Context, req *pulumirpc.LanguageHandshakeRequest,
) (*pulumirpc.LanguageHandshakeResponse, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if req.GetEngineAddress() != "" {
		h.engineAddress = req.GetEngineAddress()
	}
	return &pulumirpc.LanguageHandshakeResponse{}, nil
}

func (h *languageHost) GetPluginInfo(context.Context, *emptypb.Empty) (*pulumirpc.PluginInfo, error) {
	return &pulumirpc.PluginInfo{Version: version}, nil
}

// GetRequiredPlugins lists the resource plugins that the program's npm packages declare.
func (h *languageHost) GetRequiredPlugins(
	_ context.Context, req *pulumirpc.GetRequiredPluginsRequest,
) (*pulumirpc.GetRequiredPluginsResponse, error) {
	packages, err := findPulumiPackages(programDirectory(req.GetInfo(), req.GetProgram()))
	if err != nil {
		return nil, err
	}
	plugins := make([]*pulumirpc.PluginDependency, 0, len(packages))
	for _, p := range packages {
		plugins = append(plugins, &pulumirpc.PluginDependency{Name: p.Name, Kind: "resource", Version: p.Version})
	}
	return &pulumirpc.GetRequiredPluginsResponse{Plugins: plugins}, nil
}

// GetRequiredPackages is the newer form of GetRequiredPlugins; the engine prefers it.
func (h *languageHost) GetRequiredPackages(
	_ context.Context, req *pulumirpc.GetRequiredPackagesRequest,
) (*pulumirpc.GetRequiredPackagesResponse, error) {
	packages, err := findPulumiPackages(programDirectory(req.GetInfo(), ""))
	if err != nil {
		return nil, err
	}
	deps := make([]*pulumirpc.PackageDependency, 0, len(packages))
	for _, p := range packages {
		deps = append(deps, &pulumirpc.PackageDependency{Name: p.Name, Kind: "resource", Version: p.Version})
	}
	return &pulumirpc.GetRequiredPackagesResponse{Packages: deps}, nil
}

// GetProgramDependencies reports the program's direct npm dependencies (shown by `pulumi about`).
func (h *languageHost) GetProgramDependencies(
	_ context.Context, req *pulumirpc.GetProgramDependenciesRequest,
) (*pulumirpc.GetProgramDependenciesResponse, error) {
	deps, err := directDependencies(programDirectory(req.GetInfo(), req.GetProgram()))
	if err != nil {
		return nil, err
	}
	return &pulumirpc.GetProgramDependenciesResponse{Dependencies: deps}, nil
}

// InstallDependencies is a no-op with a clear message: the project installs with `npm ci` itself, so
// that the lockfile stays the single source of truth.
func (h *languageHost) InstallDependencies(
	_ *pulumirpc.InstallDependenciesRequest, server pulumirpc.LanguageRuntime_InstallDependenciesServer,
) error {
	return server.Send(&pulumirpc.InstallDependenciesResponse{
		Stdout: []byte("dependencies are installed by `npm ci`; nothing to do\n"),
	})
}

// Run executes the program with the npm SDK's runner, wiring config and engine addresses through the
// environment variables and flags that runner reads.
func (h *languageHost) Run(ctx context.Context, req *pulumirpc.RunRequest) (*pulumirpc.RunResponse, error) {
	dir := programDirectory(req.GetInfo(), req.GetProgram())
	runner, err := resolveRunner(ctx, h.nodeBin, dir)
	if err != nil {
		return nil, err
	}
	opts := runtimeOptionsOf(req.GetInfo())

	args := append([]string{}, opts.nodeArgs...)
	args = append(args, runner)
	flag := func(name, value string) {
		if value != "" {
			args = append(args, "--"+name, value)
		}
	}
	h.mu.Lock()
	engine := h.engineAddress
	h.mu.Unlock()
	flag("monitor", req.GetMonitorAddress())
	flag("engine", engine)
	flag("organization", req.GetOrganization())
	flag("project", req.GetProject())
	flag("stack", req.GetStack())
	flag("pwd", req.GetPwd())
	flag("root-directory", req.GetInfo().GetRootDirectory())
	flag("tracing", h.tracing)
	if req.GetDryRun() {
		args = append(args, "--dry-run")
	}
	if req.GetParallel() > 0 {
		flag("parallel", fmt.Sprint(req.GetParallel()))
	}
	args = append(args, entryPoint(req))
	args = append(args, req.GetArgs()...)

	config, err := json.Marshal(req.GetConfig())
	if err != nil {
		return nil, fmt.Errorf("serialising config: %w", err)
	}
	secretKeys, err := json.Marshal(nonNil(req.GetConfigSecretKeys()))
	if err != nil {
		return nil, fmt.Errorf("serialising secret config keys: %w", err)
	}
	env := append(os.Environ(),
		"PULUMI_CONFIG="+string(config),
		"PULUMI_CONFIG_SECRET_KEYS="+string(secretKeys),
		fmt.Sprintf("PULUMI_NODEJS_TYPESCRIPT=%t", opts.typescript),
	)
	if opts.tsconfig != "" {
		env = append(env, "PULUMI_NODEJS_TSCONFIG_PATH="+opts.tsconfig)
	}

	cmd := exec.CommandContext(ctx, h.nodeBin, args...)
	cmd.Dir = dir
	cmd.Env = env
	cmd.Stdout = os.Stdout
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		var exitErr *exec.ExitError
		if errors.As(err, &exitErr) {
			// The program reported its own error already; the engine only needs to know it failed.
			return &pulumirpc.RunResponse{Error: fmt.Sprintf("program exited with code %d", exitErr.ExitCode()), Bail: true}, nil
		}
		return &pulumirpc.RunResponse{Error: fmt.Sprintf("could not start node: %v", err)}, nil
	}
	return &pulumirpc.RunResponse{}, nil
}

// programDirectory prefers the structured ProgramInfo that current engines send.
func programDirectory(info *pulumirpc.ProgramInfo, program string) string {
	if info.GetProgramDirectory() != "" {
		return info.GetProgramDirectory()
	}
	if program != "" {
		return program
	}
	wd, _ := os.Getwd()
	return wd
}

func entryPoint(req *pulumirpc.RunRequest) string {
	if e := req.GetInfo().GetEntryPoint(); e != "" {
		return e
	}
	if req.GetProgram() != "" {
		return req.GetProgram()
	}
	// "." makes the runner load package.json's "main" (or index).
	return "."
}

// resolveRunner asks node itself where the SDK's runner is, so nested workspaces resolve like Node does.
func resolveRunner(ctx context.Context, nodeBin, dir string) (string, error) {
	out, err := exec.CommandContext(ctx, nodeBin, "-e",
		fmt.Sprintf("process.stdout.write(require.resolve(%q))", runEntryPoint)).Output()
	if err != nil {
		return "", fmt.Errorf("the npm package @pulumi/pulumi is not installed for %s (run `npm ci`)", dir)
	}
	return strings.TrimSpace(string(out)), nil
}

type runtimeOptions struct {
	typescript bool
	tsconfig   string
	nodeArgs   []string
}

// runtimeOptionsOf reads Pulumi.yaml's `runtime.options`; TypeScript is on unless turned off, as upstream.
func runtimeOptionsOf(info *pulumirpc.ProgramInfo) runtimeOptions {
	opts := runtimeOptions{typescript: true}
	fields := info.GetOptions().GetFields()
	if v, ok := fields["typescript"]; ok {
		opts.typescript = v.GetBoolValue()
	}
	if v, ok := fields["tsconfig"]; ok {
		opts.tsconfig = v.GetStringValue()
	}
	if v, ok := fields["nodeargs"]; ok && v.GetStringValue() != "" {
		opts.nodeArgs = strings.Fields(v.GetStringValue())
	}
	return opts
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// pulumiPackage is an npm package that declares a resource plugin in its package.json.
type pulumiPackage struct {
	Name    string
	Version string
}

type packageJSON struct {
	Name            string            `json:"name"`
	Version         string            `json:"version"`
	Dependencies    map[string]string `json:"dependencies"`
	DevDependencies map[string]string `json:"devDependencies"`
	Pulumi          struct {
		Resource bool   `json:"resource"`
		Name     string `json:"name"`
		Version  string `json:"version"`
	} `json:"pulumi"`
}

// findPulumiPackages walks node_modules (scoped and nested) for packages with `pulumi.resource: true`.
func findPulumiPackages(dir string) ([]pulumiPackage, error) {
	seen := map[string]bool{}
	var found []pulumiPackage
	var walk func(modules string) error
	walk = func(modules string) error {
		entries, err := os.ReadDir(modules)
		if errors.Is(err, os.ErrNotExist) {
			return nil
		} else if err != nil {
			return err
		}
		for _, e := range entries {
			name := e.Name()
			if strings.HasPrefix(name, ".") {
				continue
			}
			path := filepath.Join(modules, name)
			if strings.HasPrefix(name, "@") {
				if err := walk(path); err != nil {
					return err
				}
				continue
			}
			if p, ok := readPulumiPackage(filepath.Join(path, "package.json")); ok {
				key := p.Name + "@" + p.Version
				if !seen[key] {
					seen[key] = true
					found = append(found, p)
				}
			}
			if err := walk(filepath.Join(path, "node_modules")); err != nil {
				return err
			}
		}
		return nil
	}
	if err := walk(filepath.Join(dir, "node_modules")); err != nil {
		return nil, fmt.Errorf("reading node_modules of %s: %w", dir, err)
	}
	return found, nil
}

func readPulumiPackage(path string) (pulumiPackage, bool) {
	b, err := os.ReadFile(path)
	if err != nil {
		return pulumiPackage{}, false
	}
	var pkg packageJSON
	if json.Unmarshal(b, &pkg) != nil || !pkg.Pulumi.Resource {
		return pulumiPackage{}, false
	}
	name := pkg.Pulumi.Name
	if name == "" {
		name = strings.TrimPrefix(strings.TrimPrefix(pkg.Name, "@pulumi/"), "@")
	}
	v := pkg.Pulumi.Version
	if v == "" {
		v = pkg.Version
	}
	return pulumiPackage{Name: name, Version: "v" + strings.TrimPrefix(v, "v")}, true
}

func directDependencies(dir string) ([]*pulumirpc.DependencyInfo, error) {
	b, err := os.ReadFile(filepath.Join(dir, "package.json"))
	if err != nil {
		return nil, fmt.Errorf("reading package.json: %w", err)
	}
	var pkg packageJSON
	if err := json.Unmarshal(b, &pkg); err != nil {
		return nil, fmt.Errorf("parsing package.json: %w", err)
	}
	var deps []*pulumirpc.DependencyInfo
	for name := range pkg.Dependencies {
		installed, _ := os.ReadFile(filepath.Join(dir, "node_modules", name, "package.json"))
		var p packageJSON
		_ = json.Unmarshal(installed, &p)
		deps = append(deps, &pulumirpc.DependencyInfo{Name: name, Version: p.Version})
	}
	return deps, nil
}
