package main

// What the tool reads from /proc: the machine's load, and the CPU time and
// memory of the servers it started.

import (
	"fmt"
	"os"
	"strconv"
	"strings"
)

// procLine returns the rest of the first line of the /proc file name that
// starts with key, without the spaces and the colon around it.
func procLine(name, key string) (string, bool) {
	b, err := os.ReadFile(name)
	if err != nil {
		return "", false
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, key); ok {
			return strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(v), ":")), true
		}
	}
	return "", false
}

// loadAvg is the 1, 5 and 15 minute load averages, or "" where /proc has
// none.
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return ""
	}
	return strings.Join(f[:3], " ")
}

// cpuSeconds is the user+system CPU time the process has used, or -1 when
// the server is not ours.
func (s *server) cpuSeconds() float64 {
	if s.pid == 0 {
		return -1
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", s.pid))
	if err != nil {
		return -1
	}
	// Fields after the command name, which may hold spaces: state is
	// field 3, utime 14, stime 15.
	i := strings.LastIndexByte(string(b), ')')
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return -1
	}
	ut, _ := strconv.ParseFloat(f[11], 64)
	st, _ := strconv.ParseFloat(f[12], 64)
	return (ut + st) / 100 // USER_HZ is 100 on Linux
}

// rssKB is VmRSS of the process in KiB, or -1 when the server is not ours.
func (s *server) rssKB() int64 {
	if s.pid == 0 {
		return -1
	}
	v, ok := procLine(fmt.Sprintf("/proc/%d/status", s.pid), "VmRSS:")
	if !ok {
		return -1
	}
	n, _ := strconv.ParseInt(strings.TrimSuffix(v, " kB"), 10, 64)
	return n
}
