//go:build unix

package azurite_test

import (
	"errors"
	"net"
	"net/url"
	"syscall"
	"testing"
	"time"
)

// TestCleanupStopsAzurite: once the test that started Azurite is over, its
// process group is gone and its port refuses connections.
func TestCleanupStopsAzurite(t *testing.T) {
	var pid int
	var host string
	t.Run("run", func(t *testing.T) {
		az, _ := start(t)
		pid = az.PID()
		u, err := url.Parse(az.BlobEndpoint())
		if err != nil {
			t.Fatal(err)
		}
		host = u.Host
		if err := syscall.Kill(-pid, 0); err != nil {
			t.Fatalf("Azurite's process group %d is not running: %v", pid, err)
		}
	})
	if pid == 0 {
		t.Skip("Azurite did not start")
	}
	if err := syscall.Kill(-pid, 0); !errors.Is(err, syscall.ESRCH) {
		t.Errorf("after cleanup, signal 0 to process group %d: %v, want ESRCH", pid, err)
	}
	if c, err := net.DialTimeout("tcp", host, time.Second); err == nil {
		c.Close()
		t.Errorf("after cleanup, %s still accepts connections", host)
	}
}
