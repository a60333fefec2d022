package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestUnknownIDSuggestion: a row whose number the workspace lacks names the id it was
// clearly meant to be, in a dry run against the workspace, a verify and a live run;
// never an id another row of the plan names, nor one that is not clearly nearest.
func TestUnknownIDSuggestion(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	plan := writeFile(t, dir, "plan.csv", "id,agent_id\n"+
		"phn_k3p8vd2nq7rb,agt_billing\n"+ // one slip from phn_k3p8vd2nq7ra
		"phn_zzzzzzzzzzzz,agt_billing\n"+ // near nothing
		"phn_m9x4tb6wz2ce,agt_sales_emea\n"+
		"phn_m9x4tb6wz2cf,agt_sales_emea\n"+ // one slip from the row above's number: not suggested
		"phn_f7w2xk5mb9qz,agt_billing\n") // two letters swapped
	want := map[string]string{
		"phn_k3p8vd2nq7rb": "did you mean phn_k3p8vd2nq7ra?",
		"phn_zzzzzzzzzzzz": "",
		"phn_m9x4tb6wz2cf": "",
		"phn_f7w2xk5mb9qz": "did you mean phn_f7w2kx5mb9qz?",
	}
	for i, args := range [][]string{{"verify"}, {"--dry-run=server"}, {"--rate", "0", "--yes"}} {
		t.Run(args[0], func(t *testing.T) {
			report := filepath.Join(dir, fmt.Sprintf("r%d.csv", i))
			args = append(args, "--plan", plan, "--sandbox", "--report", report, "--log-format", "json")
			if res := runIn(t, nil, "", args...); res.code != exitRowErrors {
				t.Fatalf("exit %d, want 3\n%s", res.code, res.stderr)
			}
			data, err := os.ReadFile(report)
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range readReport(t, string(data)) {
				w, unknown := want[r["id"]]
				switch {
				case !unknown:
				case r["outcome"] != "not_found":
					t.Errorf("%s: %s, want not_found", r["id"], r["outcome"])
				case w == "" && strings.Contains(r["error"], "did you mean"):
					t.Errorf("%s: %q suggests an id", r["id"], r["error"])
				case !strings.HasSuffix(r["error"], w):
					t.Errorf("%s: %q, want it to end %q", r["id"], r["error"], w)
				}
			}
		})
	}
}
