package app_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"zoomsignage/events"
)

// nodeTest is a `node --test` run of a reference client under test/.
type nodeTest struct {
	out  *syncBuffer
	done chan error
}

// startNodeTest runs `node --test file` in test/<folder> with env added,
// after checking that node and the folder's packages (npm ci, which
// .ci/run does) are there: missing, the test fails, never skips.
func startNodeTest(t *testing.T, folder, file string, env []string, packages ...string) *nodeTest {
	t.Helper()
	node, dir := requireNode(t, folder, packages...)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	cmd := exec.CommandContext(ctx, node, "--test", "--test-concurrency=1", "--test-timeout=90000", file)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	n := &nodeTest{out: &syncBuffer{}, done: make(chan error, 1)}
	cmd.Stdout, cmd.Stderr = n.out, n.out
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatal(err)
	}
	go func() { n.done <- cmd.Wait() }()
	t.Cleanup(func() {
		cancel()
		if n.done != nil {
			<-n.done
		}
	})
	return n
}

// requireNode returns node's path and test/<folder>, failing the test when
// node or one of the folder's packages (npm ci, which .ci/run does) is
// missing: these tests never skip.
func requireNode(t *testing.T, folder string, packages ...string) (node, dir string) {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatal("node is required for the reference-client tests (Node 20 or later)")
	}
	dir = filepath.Join(repoRoot(t), "test", folder)
	for _, pkg := range packages {
		if _, err := os.Stat(filepath.Join(dir, "node_modules", pkg, "package.json")); err != nil {
			t.Fatalf("test/%s/node_modules/%s is missing: run `npm ci` in test/%s (.ci/run does): %v", folder, pkg, folder, err)
		}
	}
	return node, dir
}

// wait waits for the run to end and fails unless all of its tests, at
// least want of them, passed.
func (n *nodeTest) wait(t *testing.T, want int) {
	t.Helper()
	err := <-n.done
	n.done = nil
	out := n.out.String()
	if err != nil {
		t.Fatalf("node --test: %v\n%s", err, out)
	}
	if !strings.Contains(out, "# fail 0") || strings.Contains(out, "# pass 0\n") || countPassed(out) < want {
		t.Fatalf("node ran fewer tests than expected (want %d):\n%s", want, out)
	}
}

// countPassed reads the "# pass N" line of node's TAP summary.
func countPassed(out string) int {
	i := strings.LastIndex(out, "# pass ")
	if i < 0 {
		return 0
	}
	n := 0
	for _, c := range out[i+len("# pass "):] {
		if c < '0' || c > '9' {
			break
		}
		n = n*10 + int(c-'0')
	}
	return n
}

// waitSubscribers is waitSubscribers for a stream a Node run opens: a run
// that ends first (a page that never got as far as subscribing) fails the
// test with its output at once, rather than after the wait.
func (n *nodeTest) waitSubscribers(t *testing.T, bus *events.Bus, tenant string, want int) {
	t.Helper()
	// A browser start and a page load come first.
	for deadline := time.Now().Add(2 * time.Minute); bus.Subscribers(tenant) != want; time.Sleep(10 * time.Millisecond) {
		select {
		case err := <-n.done:
			n.done = nil
			t.Fatalf("node ended (%v) before %d streams of tenant %s were open:\n%s", err, want, tenant, n.out.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d streams of tenant %s, want %d; node so far:\n%s", bus.Subscribers(tenant), tenant, want, n.out.String())
		}
	}
}
