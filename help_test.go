package main

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestHelp: a command's help, however it is asked for, is its golden text (go test -run
// TestHelp -update rewrites testdata/help): on stdout, nothing on stderr, exit 0.
func TestHelp(t *testing.T) {
	t.Parallel()
	cases := []struct {
		golden string
		asks   [][]string
	}{
		{"commands", [][]string{{"help"}, {"help", "--help"}}},
		{"run", [][]string{{"--help"}, {"-h"}, {"-help"}, {"help", "run"}, {"--plan", "p.csv", "--help"}}},
		{"verify", [][]string{{"help", "verify"}, {"verify", "--help"}, {"verify", "-h"}, {"verify", "--plan", "p.csv", "-h"}}},
		{"export", [][]string{{"help", "export"}, {"export", "--help"}, {"export", "-h"}}},
		{"agents", [][]string{{"help", "agents"}, {"agents", "--help"}, {"agents", "-h"}}},
		{"report", [][]string{{"help", "report"}, {"report", "--help"}, {"report", "-h"}}},
	}
	for _, c := range cases {
		t.Run(c.golden, func(t *testing.T) {
			t.Parallel()
			golden := filepath.Join("testdata", "help", c.golden+".golden")
			var first string
			for i, args := range c.asks {
				res := runIn(t, nil, "", args...)
				if res.code != exitOK || res.stderr != "" {
					t.Fatalf("reassign %s: exit %d, stderr %q", strings.Join(args, " "), res.code, res.stderr)
				}
				if i == 0 {
					first = res.stdout
				} else if res.stdout != first {
					t.Errorf("reassign %s differs from reassign %s", strings.Join(args, " "), strings.Join(c.asks[0], " "))
				}
			}
			if *update {
				if err := os.WriteFile(golden, []byte(first), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (go test -run TestHelp -update writes it)", err)
			}
			if first != string(want) {
				t.Errorf("reassign %s is not %s (go test -run TestHelp -update, then read the diff):\n%s", strings.Join(c.asks[0], " "), golden, first)
			}
		})
	}
}

// TestHelpListsItsOwnFlags: each command's help lists every flag it takes, each with
// its placeholder, variable and default, and no flag it does not take; lines fit a
// terminal.
func TestHelpListsItsOwnFlags(t *testing.T) {
	t.Parallel()
	table := new(config).options()
	flagLine := regexp.MustCompile(`(?m)^  (--[a-z-]+)`)
	for _, cmd := range commandList() {
		res := runIn(t, nil, "", "help", cmd.name())
		listed := map[string]bool{}
		for _, m := range flagLine.FindAllStringSubmatch(res.stdout, -1) {
			listed[m[1]] = true
		}
		mine := rowsOf(table, cmd)
		for _, o := range mine {
			if !strings.Contains(res.stdout, "\n  "+o.spelling()+envAndDefault(o)+"\n") {
				t.Errorf("help %s lacks %q", cmd.name(), o.spelling()+envAndDefault(o))
			}
			delete(listed, "--"+o.name)
		}
		if len(listed) > 0 {
			t.Errorf("help %s lists flags it does not take: %v", cmd.name(), listed)
		}
		for _, g := range []string{"Connection:", "Examples:", "Exit codes:"} {
			if !strings.Contains(res.stdout, "\n"+g) && !(g == "Connection:" && cmd == cmdReport) {
				t.Errorf("help %s has no %s", cmd.name(), g)
			}
		}
		for _, line := range strings.Split(res.stdout, "\n") {
			if len([]rune(line)) > 88 && !strings.HasPrefix(line, "  reassign ") {
				t.Errorf("help %s: a line of %d characters: %q", cmd.name(), len([]rune(line)), line)
			}
		}
	}
}

// TestFlagsReference: docs/flags.md is what the flag table says (go generate, or go test
// -run TestFlagsReference -update, writes it).
func TestFlagsReference(t *testing.T) {
	t.Parallel()
	var b bytes.Buffer
	printMarkdown(&b)
	path := filepath.Join("docs", "flags.md")
	if *update {
		if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, b.Bytes()) {
		t.Errorf("%s is not what the flag table says: run go generate (or go test -run TestFlagsReference -update)", path)
	}
	for _, o := range new(config).options() {
		if !bytes.Contains(got, []byte("| `"+o.spelling()+"` |")) {
			t.Errorf("%s lacks %s", path, o.spelling())
		}
	}
	res := runIn(t, nil, "", "help", "--markdown")
	if res.code != exitOK || res.stdout != b.String() {
		t.Errorf("reassign help --markdown: exit %d, or not the reference", res.code)
	}
}
