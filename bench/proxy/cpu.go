package main

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// clockTick is the kernel's USER_HZ, the unit of CPU times in /proc.
const clockTick = 100

// cpuTime returns the user plus system CPU time consumed so far by pid and
// by every process whose parent is pid (nginx's workers).
func cpuTime(pid int) time.Duration {
	total := procCPU(pid)
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	for _, f := range stats {
		fields := statFields(f)
		if len(fields) > 1 && fields[1] == strconv.Itoa(pid) {
			child, _ := strconv.Atoi(filepath.Base(filepath.Dir(f)))
			total += procCPU(child)
		}
	}
	return total
}

// procCPU returns utime+stime of one process.
func procCPU(pid int) time.Duration {
	fields := statFields("/proc/" + strconv.Itoa(pid) + "/stat")
	if len(fields) < 13 {
		return 0
	}
	// After the command, field 4 is the parent; utime and stime are the
	// 14th and 15th fields of the whole line.
	utime, _ := strconv.ParseInt(fields[11], 10, 64)
	stime, _ := strconv.ParseInt(fields[12], 10, 64)
	return time.Duration(utime+stime) * time.Second / clockTick
}

// statFields returns the fields of a /proc stat file that follow the
// command name (which may contain spaces): state, ppid, …
func statFields(path string) []string {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return nil
	}
	return strings.Fields(s[i+1:])
}
