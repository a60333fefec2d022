package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// sandboxAgentsCSV is the demo sandbox's agents as `reassign agents` lists them: the
// outbound dialer takes no inbound numbers.
const sandboxAgentsCSV = "id,name,inbound\n" +
	"agent_2g7Xy3tY53gRlp,東京 受付,yes\n" +
	"agt_billing,Billing,yes\n" +
	"agt_outbound_dialer,Outbound Dialer,no\n" +
	"agt_sales_emea,Sales EMEA,yes\n" +
	"agt_sales_latam,Ventas LATAM,yes\n" +
	"agt_support_tier1,Support,yes\n" +
	"agt_support_tier2,Support,yes\n"

// TestAgentsCommand drives `reassign agents` against the sandbox: the CSV on stdout or
// in a file (with a BOM, for Excel), never over a file or the key file, and its cells
// escaped as every CSV the job writes.
func TestAgentsCommand(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	existing := writeFile(t, dir, "existing.csv", "keep me")
	key := writeFile(t, dir, "key", testKey)
	// A kept sandbox workspace whose agents' names a spreadsheet would run as formulas.
	state := writeFile(t, dir, "state.json", `{"format":"reassign sandbox state","version":1,"seeded_with":"demo",
"agents":[
{"id":"agt_formula","name":"=HYPERLINK(\"http://x\",\"Sales\")"},
{"id":"agt_at","name":"@SUM(A1)","outbound_only":true},
{"id":"agt_null","name":"null"},
{"id":"agt_plain","name":"Support, Tier 1"}],
"numbers":[]}`)
	cases := []struct {
		name   string
		env    map[string]string
		args   []string
		want   int
		stdout string // the whole of stdout
		file   string // the file written, and its whole content
		body   string
		stderr string // a fragment of stderr
	}{
		{name: "to stdout", args: []string{"--sandbox"}, stdout: sandboxAgentsCSV, stderr: "listed 7 agents to stdout"},
		{name: "to stdout by name", args: []string{"--sandbox", "--out", "-"}, stdout: sandboxAgentsCSV},
		{name: "to a file", args: []string{"--sandbox", "--out", filepath.Join(dir, "agents.csv")},
			file: filepath.Join(dir, "agents.csv"), body: "\uFEFF" + sandboxAgentsCSV, stderr: "listed 7 agents to " + filepath.Join(dir, "agents.csv")},
		{name: "to a file from the variable", env: map[string]string{"REASSIGN_AGENTS_OUT": filepath.Join(dir, "env.csv"), "REASSIGN_EXPORT_OUT": existing},
			args: []string{"--sandbox"}, file: filepath.Join(dir, "env.csv"), body: "\uFEFF" + sandboxAgentsCSV},
		{name: "cells escaped", args: []string{"--sandbox", "--sandbox-state", state}, stdout: "id,name,inbound\n" +
			"agt_at,'@SUM(A1),no\n" +
			"agt_formula,\"'=HYPERLINK(\"\"http://x\"\",\"\"Sales\"\")\",yes\n" +
			"agt_null,'null,yes\n" +
			"agt_plain,\"Support, Tier 1\",yes\n"},
		{name: "an existing file", args: []string{"--sandbox", "--out", existing}, want: exitConfig, stderr: "already exists"},
		{name: "the key file", env: map[string]string{"DIALNEXA_API_KEY_FILE": key}, args: []string{"--out", key}, want: exitUsage, stderr: "--out names the same file as --api-key-file"},
		{name: "no key", args: []string{"--out", filepath.Join(dir, "nokey.csv")}, want: exitConfig, stderr: "no API key"},
		{name: "a run's flag", args: []string{"--sandbox", "--dry-run"}, want: exitUsage, stderr: "agents does not take --dry-run (a run does)"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res := runIn(t, c.env, "", append([]string{"agents", "--log-format", "json"}, c.args...)...)
			if res.code != c.want || !strings.Contains(res.stderr, c.stderr) {
				t.Fatalf("exit %d, want %d with %q in stderr:\n%s", res.code, c.want, c.stderr, res.stderr)
			}
			if res.stdout != c.stdout {
				t.Errorf("stdout:\n%s\nwant:\n%s", res.stdout, c.stdout)
			}
			if c.file != "" {
				if got, err := os.ReadFile(c.file); err != nil || string(got) != c.body {
					t.Errorf("%s: %q, %v; want\n%s", c.file, got, err, c.body)
				}
			}
		})
	}
	if got := readFile(t, dir, "existing.csv"); got != "keep me" {
		t.Errorf("an existing file was written: %q", got)
	}
	if _, err := os.Stat(filepath.Join(dir, "nokey.csv")); !os.IsNotExist(err) {
		t.Errorf("a refused command left its file (%v)", err)
	}
}
