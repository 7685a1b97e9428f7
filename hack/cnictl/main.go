// cnictl drives CNI plugins through libcni, the library every real client links (podman, containerd,
// CRI-O, cnitool). It is cnitool's interface, built against the libcni that Debian ships
// (golang-github-appc-cni-dev), so the conformance script tests our plugins through the same code
// paths a runtime uses: capability filtering, prevResult threading, the result cache, result version
// conversion and CHECK/DEL ordering.
//
// Usage:
//
//	cnictl add|check|del|validate <network> <netns path>
//
// <network> is a network name looked up in $NETCONFPATH (default /etc/cni/net.d; .conflist first,
// then .conf/.json), or a path to a .conflist file.
//
// Environment (as cnitool):
//
//	CNI_PATH         plugin folders, ':'-separated (required)
//	NETCONFPATH      folder of network configurations
//	CNI_IFNAME       interface name in the pod (default eth0)
//	CNI_ARGS         K=V;K=V, passed to every plugin
//	CAP_ARGS         JSON object of runtime capability args, e.g. {"ips":["fd42:1::50/64"]}
//
// and:
//
//	CNI_CONTAINERID  container ID (default "cnitool-" + hex(sha512(netns path))[:20], as cnitool)
//	CNI_CACHE_DIR    libcni's cache folder (default $TMPDIR/cnictl-cache; never /var/lib/cni)
//	CNICTL_TIMEOUT   seconds before a verb is abandoned (default 60)
//
// ADD prints the result JSON (in the network's cniVersion, as libcni returns it); CHECK and DEL print
// nothing. Errors go to stderr with exit status 1; a CNI error's code is printed as "code N".
//
// Build (offline, GOPATH mode):
//
//	GO111MODULE=off GOPATH=$tmp:/usr/share/gocode go build -o cnictl ./hack/cnictl
package main

import (
	"context"
	"crypto/sha512"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/containernetworking/cni/libcni"
	"github.com/containernetworking/cni/pkg/types"
)

const (
	envCNIPath     = "CNI_PATH"
	envNetDir      = "NETCONFPATH"
	envIfName      = "CNI_IFNAME"
	envCNIArgs     = "CNI_ARGS"
	envCapArgs     = "CAP_ARGS"
	envContainerID = "CNI_CONTAINERID"
	envCacheDir    = "CNI_CACHE_DIR"
	envTimeout     = "CNICTL_TIMEOUT"

	defaultNetDir = "/etc/cni/net.d"
	defaultIfName = "eth0"
)

func usage() {
	exe := filepath.Base(os.Args[0])
	fmt.Fprintf(os.Stderr, "%s: drive CNI plugins through libcni\n\n", exe)
	fmt.Fprintf(os.Stderr, "usage: %s add|check|del|validate <network name or .conflist path> <netns path>\n\n", exe)
	fmt.Fprintf(os.Stderr, "env: CNI_PATH (required), NETCONFPATH (default %s), CNI_IFNAME (default %s),\n", defaultNetDir, defaultIfName)
	fmt.Fprintf(os.Stderr, "     CNI_ARGS (K=V;K=V), CAP_ARGS (JSON object), CNI_CONTAINERID, CNI_CACHE_DIR, CNICTL_TIMEOUT\n")
	os.Exit(2)
}

func fail(format string, a ...interface{}) {
	fmt.Fprintf(os.Stderr, "cnictl: "+format+"\n", a...)
	os.Exit(1)
}

// loadList finds the network: a file path, or a name in NETCONFPATH as cnitool finds it.
func loadList(network string) (*libcni.NetworkConfigList, error) {
	if strings.ContainsRune(network, '/') || strings.HasSuffix(network, ".conflist") {
		if strings.HasSuffix(network, ".conflist") {
			return libcni.ConfListFromFile(network)
		}
		conf, err := libcni.ConfFromFile(network)
		if err != nil {
			return nil, err
		}
		return libcni.ConfListFromConf(conf)
	}
	dir := os.Getenv(envNetDir)
	if dir == "" {
		dir = defaultNetDir
	}
	return libcni.LoadConfList(dir, network)
}

// parseArgs turns "K=V;K=V" into libcni's pairs, refusing malformed pairs as cnitool does.
func parseArgs(s string) ([][2]string, error) {
	var out [][2]string
	if s == "" {
		return out, nil
	}
	for _, pair := range strings.Split(s, ";") {
		kv := strings.SplitN(pair, "=", 2)
		if len(kv) != 2 || kv[0] == "" {
			return nil, fmt.Errorf("invalid %s pair %q (want KEY=VALUE;KEY=VALUE)", envCNIArgs, pair)
		}
		out = append(out, [2]string{kv[0], kv[1]})
	}
	return out, nil
}

// containerID is cnitool's: "cnitool-" + the first 20 hex digits of sha512(netns path).
func containerID(netns string) string {
	if id := os.Getenv(envContainerID); id != "" {
		return id
	}
	sum := sha512.Sum512([]byte(netns))
	return "cnitool-" + hex.EncodeToString(sum[:])[:20]
}

func cacheDir() string {
	if d := os.Getenv(envCacheDir); d != "" {
		return d
	}
	return filepath.Join(os.TempDir(), "cnictl-cache")
}

func describe(err error) string {
	var cniErr *types.Error
	if errors.As(err, &cniErr) {
		s := fmt.Sprintf("code %d: %s", cniErr.Code, cniErr.Msg)
		if cniErr.Details != "" {
			s += "; " + cniErr.Details
		}
		return s
	}
	return err.Error()
}

func main() {
	if len(os.Args) != 4 {
		usage()
	}
	verb, network, netns := os.Args[1], os.Args[2], os.Args[3]
	switch verb {
	case "add", "check", "del", "validate":
	default:
		usage()
	}

	list, err := loadList(network)
	if err != nil {
		fail("loading network %q: %v", network, err)
	}
	path := os.Getenv(envCNIPath)
	if path == "" {
		fail("%s is not set", envCNIPath)
	}

	args, err := parseArgs(os.Getenv(envCNIArgs))
	if err != nil {
		fail("%v", err)
	}
	capArgs := map[string]interface{}{}
	if s := os.Getenv(envCapArgs); s != "" {
		if err := json.Unmarshal([]byte(s), &capArgs); err != nil {
			fail("%s is not a JSON object: %v", envCapArgs, err)
		}
	}
	ifname := os.Getenv(envIfName)
	if ifname == "" {
		ifname = defaultIfName
	}
	if netns != "" && verb != "validate" {
		if abs, err := filepath.Abs(netns); err == nil {
			netns = abs
		}
	}
	timeout := 60 * time.Second
	if s := os.Getenv(envTimeout); s != "" {
		secs, err := strconv.Atoi(s)
		if err != nil || secs <= 0 {
			fail("%s=%q is not a positive number of seconds", envTimeout, s)
		}
		timeout = time.Duration(secs) * time.Second
	}

	cni := libcni.NewCNIConfigWithCacheDir(filepath.SplitList(path), cacheDir(), nil)
	rt := &libcni.RuntimeConf{
		ContainerID:    containerID(netns),
		NetNS:          netns,
		IfName:         ifname,
		Args:           args,
		CapabilityArgs: capArgs,
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()

	switch verb {
	case "add":
		result, err := cni.AddNetworkList(ctx, list, rt)
		if err != nil {
			fail("ADD %s: %s", list.Name, describe(err))
		}
		if result != nil {
			if err := result.Print(); err != nil {
				fail("printing the result: %v", err)
			}
		}
	case "check":
		if err := cni.CheckNetworkList(ctx, list, rt); err != nil {
			fail("CHECK %s: %s", list.Name, describe(err))
		}
	case "del":
		if err := cni.DelNetworkList(ctx, list, rt); err != nil {
			fail("DEL %s: %s", list.Name, describe(err))
		}
	case "validate":
		caps, err := cni.ValidateNetworkList(ctx, list)
		if err != nil {
			fail("VALIDATE %s: %s", list.Name, describe(err))
		}
		out, _ := json.Marshal(map[string]interface{}{"name": list.Name, "cniVersion": list.CNIVersion, "capabilities": caps})
		fmt.Println(string(out))
	}
}
