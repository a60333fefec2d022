package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"
)

// minimalArgs are the arguments that make each command's configuration whole.
func minimalArgs(cmd command) []string {
	switch cmd {
	case cmdRun, cmdVerify:
		return []string{"--plan", "plan.csv"}
	case cmdExport:
		return []string{"--out", "numbers.csv"}
	case cmdReport:
		return []string{"--html", "run.html", "report.csv"}
	}
	return nil
}

// withCommand puts the command's word before args.
func withCommand(cmd command, args ...string) []string {
	if cmd == cmdRun {
		return args
	}
	return append([]string{cmd.name()}, args...)
}

// TestFlagTableShape: every row of the flag table is whole (a name, a meaning, a group,
// the commands that take it, a placeholder exactly when it takes a value, a default its
// own type reads), and no command has two rows of one flag or one variable.
func TestFlagTableShape(t *testing.T) {
	t.Parallel()
	table := new(config).options()
	name := regexp.MustCompile(`^[a-z][a-z0-9-]*$`)
	for _, o := range table {
		switch {
		case !name.MatchString(o.name):
			t.Errorf("--%s: not a lower-case flag name", o.name)
		case o.usage == "":
			t.Errorf("--%s: no meaning", o.name)
		case o.cmds == 0 || o.cmds&^cmdAll != 0:
			t.Errorf("--%s: commands %b", o.name, o.cmds)
		case o.group > groupOther:
			t.Errorf("--%s: group %d", o.name, o.group)
		case o.isSwitch() != (o.arg == "" || strings.HasPrefix(o.arg, "[")):
			t.Errorf("--%s: placeholder %q, yet switch is %v", o.name, o.arg, o.isSwitch())
		case o.env != "" && !regexp.MustCompile(`^[A-Z][A-Z0-9_]*$`).MatchString(o.env):
			t.Errorf("--%s: variable %q", o.name, o.env)
		}
		if o.def != "" {
			if err := o.set(o.def); err != nil {
				t.Errorf("--%s: default %q: %v", o.name, o.def, err)
			}
		}
	}
	for _, cmd := range commandList() {
		flags, envs := map[string]bool{}, map[string]bool{}
		for _, o := range rowsOf(table, cmd) {
			if flags[o.name] {
				t.Errorf("%s has two rows of --%s", cmd.name(), o.name)
			}
			if o.env != "" && envs[o.env] {
				t.Errorf("%s has two rows reading $%s", cmd.name(), o.env)
			}
			flags[o.name], envs[o.env] = true, true
		}
		if len(flags) < 2 {
			t.Errorf("%s takes %d flags", cmd.name(), len(flags))
		}
	}
}

// TestCommandsRefuseOthersFlags: each command refuses every flag that only other
// commands take (exit 64), naming it and the commands that take it.
func TestCommandsRefuseOthersFlags(t *testing.T) {
	t.Parallel()
	table := new(config).options()
	n := 0
	for _, cmd := range commandList() {
		takes := map[string]bool{}
		for _, o := range rowsOf(table, cmd) {
			takes[o.name] = true
		}
		for _, o := range table {
			if takes[o.name] {
				continue
			}
			flagArgs := []string{"--" + o.name}
			if !o.isSwitch() {
				flagArgs = append(flagArgs, "x")
			}
			args := withCommand(cmd, append(minimalArgs(cmd), flagArgs...)...)
			res := runIn(t, nil, "", args...)
			want := fmt.Sprintf("%s does not take --%s (", cmd.subject(), o.name)
			if res.code != exitUsage || !strings.Contains(res.stderr, want) {
				t.Errorf("reassign %s: exit %d, want 64 saying %q\n%s", strings.Join(args, " "), res.code, want, res.stderr)
			}
			n++
		}
	}
	if n < 60 {
		t.Errorf("%d refusals checked: the table lost its commands' differences", n)
	}
	for _, c := range []struct{ args, want string }{
		{"export --out x.csv --dry-run", "export does not take --dry-run (a run does)"},
		{"verify --plan p.csv --out x.csv", "verify does not take --out (export and agents do)"},
		{"export --out x.csv --html x.html", "export does not take --html (a run, verify and report do)"},
		{"report --html x.html r.csv --plan p.csv", "report does not take --plan (a run and verify do)"},
		{"agents --country-code IN", "agents does not take --country-code (export does)"},
	} {
		if res := runIn(t, nil, "", strings.Fields(c.args)...); res.code != exitUsage || !strings.Contains(res.stderr, c.want) {
			t.Errorf("reassign %s: exit %d, want 64 saying %q\n%s", c.args, res.code, c.want, res.stderr)
		}
	}
}

// TestCommandsIgnoreOthersVariables: a command reads only its own flags' environment
// variables: every other one, set to something no flag takes, changes nothing; one of
// its own, set so, is refused.
func TestCommandsIgnoreOthersVariables(t *testing.T) {
	t.Parallel()
	table := new(config).options()
	for _, cmd := range commandList() {
		t.Run(cmd.name(), func(t *testing.T) {
			t.Parallel()
			mine := map[string]bool{}
			for _, o := range rowsOf(table, cmd) {
				mine[o.env] = true
			}
			env := map[string]string{}
			for _, o := range table {
				if o.env != "" && !mine[o.env] {
					env[o.env] = "not a value"
				}
			}
			if len(env) == 0 {
				t.Fatal("no variable of another command")
			}
			getenv := func(k string) string { return env[k] }
			cfg, err := parseConfig(withCommand(cmd, minimalArgs(cmd)...), getenv, io.Discard)
			if err != nil {
				t.Fatalf("with the other commands' variables set: %v", err)
			}
			if cfg.dryRun != dryRunNone || cfg.undoPlan != "" || cfg.limit != 0 || cfg.cmd != cmd {
				t.Errorf("another command's variable took effect: %+v", cfg)
			}
			env["REASSIGN_LOG_LEVEL"] = "not a value" // --log-level: every command but report
			if _, err := parseConfig(withCommand(cmd, minimalArgs(cmd)...), getenv, io.Discard); (err != nil) != (cmd != cmdReport) {
				t.Errorf("$REASSIGN_LOG_LEVEL set wrong: %v", err)
			}
		})
	}
}

// TestExportIgnoresARunsVariables: a run's variables in the environment (a dry run, an
// undo plan, a plan) neither change nor stop an export.
func TestExportIgnoresARunsVariables(t *testing.T) {
	t.Parallel()
	env := map[string]string{"REASSIGN_DRY_RUN": "1", "REASSIGN_UNDO_PLAN": "undo.csv", "REASSIGN_PLAN": "plan.csv", "REASSIGN_LIMIT": "0",
		"REASSIGN_REPORT": "r.csv", "REASSIGN_SUMMARY": "-"}
	res := runIn(t, env, "", "export", "--sandbox", "--out", "-", "--log-format", "json")
	if res.code != exitOK || !strings.HasPrefix(res.stdout, "\uFEFFid,phone_number,agent_id") || strings.Count(res.stdout, "\n") != 10 {
		t.Fatalf("exit %d, want 0 and the sandbox's 9 numbers\nstdout:\n%s\nstderr:\n%s", res.code, res.stdout, res.stderr)
	}
}

// TestMisspeltFlags: an unknown flag is named with two dashes, with what was probably
// meant; a value that does not read says which flag and why.
func TestMisspeltFlags(t *testing.T) {
	t.Parallel()
	cases := []struct{ args, want string }{
		{"--dryrun", "unknown flag --dryrun; did you mean --dry-run?"},
		{"-dryrun", "unknown flag --dryrun; did you mean --dry-run?"},
		{"--dry_run=server --plan p.csv", "unknown flag --dry_run; did you mean --dry-run?"},
		{"--plan p.csv --sumary s.json", "unknown flag --sumary; did you mean --summary?"},
		{"--Plan p.csv", "unknown flag --Plan; did you mean --plan?"},
		{"--burt 2 --plan p.csv", "unknown flag --burt; did you mean --burst?"},
		{"--sandbox-stat s.json", "unknown flag --sandbox-stat; did you mean --sandbox-state?"},
		{"verify --plan p.csv --colums a=b", "unknown flag --colums; did you mean --columns?"},
		{"export --dryrun", "unknown flag --dryrun (--dry-run is a flag of a run, not of export)"},
		{"agents --outt a.csv", "unknown flag --outt; did you mean --out?"},
		{"report --htm x.html r.csv", "unknown flag --htm; did you mean --html?"},
		{"--colour", "unknown flag --colour\n"},
		{"verfy --plan p.csv", `unexpected argument "verfy"; did you mean the command verify?`},
		{"--plan", "--plan needs a value (--plan FILE)"},
		{"--plan p.csv --rate fast", `--rate: "fast" is not a number`},
		{"--plan p.csv --workers many", `--workers: "many" is not a whole number`},
		{"--plan p.csv --timeout soon", `--timeout: "soon" is not a duration`},
		{"--plan p.csv --yes=maybe", `--yes: "maybe" is not true or false`},
		{"--plan p.csv --dry-run=maybe", `--dry-run: "maybe": want true (offline), server`},
		{"help exprot", `help: no command "exprot"; did you mean export?`},
		{"help nope", `help: no command "nope" (commands: run, verify, export, agents, report)`},
	}
	singleDash := regexp.MustCompile(`(^|[\s(])-[a-z][a-z-]+`)
	for _, c := range cases {
		res := runIn(t, nil, "", strings.Fields(c.args)...)
		if res.code != exitUsage || !strings.Contains(res.stderr, c.want) {
			t.Errorf("reassign %s: exit %d, want 64 saying %q\n%s", c.args, res.code, c.want, res.stderr)
		}
		if m := singleDash.FindString(res.stderr); m != "" {
			t.Errorf("reassign %s: %q prints a flag with one dash:\n%s", c.args, m, res.stderr)
		}
	}
	res := runIn(t, map[string]string{"REASSIGN_WORKERS": "many"}, "", "--plan", "p.csv")
	if want := `$REASSIGN_WORKERS (--workers): "many" is not a whole number`; res.code != exitUsage || !strings.Contains(res.stderr, want) {
		t.Errorf("bad variable: exit %d, want 64 saying %q\n%s", res.code, want, res.stderr)
	}
}

// TestFlagsAnywhere: flags and a report's files may come in any order; one dash or two;
// after -- every argument is a file.
func TestFlagsAnywhere(t *testing.T) {
	t.Parallel()
	cfg, err := parseConfig([]string{"report", "a.csv", "-html", "x.html", "b.csv", "--", "--c.csv"}, func(string) string { return "" }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.html != "x.html" || strings.Join(cfg.files, " ") != "a.csv b.csv --c.csv" {
		t.Errorf("html %q, files %q", cfg.html, cfg.files)
	}
	cfg, err = parseConfig([]string{"--report", "-", "--plan=-", "--dry-run=server", "--rate", "-0"}, func(string) string { return "" }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.reportPath != "-" || cfg.plan != "-" || cfg.dryRun != dryRunServer {
		t.Errorf("report %q, plan %q, dry run %q", cfg.reportPath, cfg.plan, cfg.dryRun)
	}
}

// sandboxWorkbook writes a workbook whose first sheet is notes and whose second holds
// two of the sandbox's numbers, keyed by phone number with their agents by name, under
// the team's own titles.
func sandboxWorkbook(t *testing.T, path string) {
	t.Helper()
	f := excelize.NewFile()
	defer f.Close()
	f.SetSheetName("Sheet1", "Notes")
	f.SetSheetRow("Notes", "A1", &[]any{"Notes"})
	f.SetSheetRow("Notes", "A2", &[]any{"moved on Tuesday"})
	f.NewSheet("Rufnummern")
	rows := [][]any{{"Rufnummer", "Ziel-Agent", "Anmerkung"}, {"+91 22 3456 7890", "Billing", "Mumbai"}, {"+1 (415) 555-0123", "sales emea", "SF"}}
	for i, r := range rows {
		f.SetSheetRow("Rufnummern", fmt.Sprintf("A%d", i+1), &r)
	}
	if err := f.SaveAs(path); err != nil {
		t.Fatal(err)
	}
}

// TestVerifyReadsWorkbooks: verify takes a run's plan flags: --sheet and --columns (and
// their variables) read a workbook with the team's own titles against the sandbox.
func TestVerifyReadsWorkbooks(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	wb := filepath.Join(dir, "team-move.xlsx")
	sandboxWorkbook(t, wb)
	const columns = "phone_number=Rufnummer,agent=Ziel-Agent"
	cases := []struct {
		name string
		env  map[string]string
		args []string
		want int
	}{
		{"flags", nil, []string{"--sheet", "Rufnummern", "--columns", columns}, exitOK},
		{"variables", map[string]string{"REASSIGN_SHEET": "Rufnummern", "REASSIGN_COLUMNS": columns}, nil, exitOK},
		{"the flag wins", map[string]string{"REASSIGN_SHEET": "Notes", "REASSIGN_COLUMNS": "agent=Notes"}, []string{"--sheet", "Rufnummern", "--columns", columns}, exitOK},
		{"neither: the first sheet, which is notes", nil, nil, exitPlan},
		{"a title the sheet lacks", nil, []string{"--sheet", "Rufnummern", "--columns", "phone_number=Rufnummer,agent=Neuer Agent"}, exitUsage},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			report := filepath.Join(dir, fmt.Sprintf("verify-%d.csv", i))
			args := append([]string{"verify", "--plan", wb, "--sandbox", "--report", report, "--log-format", "json"}, c.args...)
			res := runIn(t, c.env, "", args...)
			if res.code != c.want {
				t.Fatalf("exit %d, want %d\n%s", res.code, c.want, res.stderr)
			}
			if c.want != exitOK {
				return
			}
			data, err := os.ReadFile(report)
			if err != nil {
				t.Fatal(err)
			}
			rows := readReport(t, string(data))
			if len(rows) != 2 || rows[0]["outcome"] != "matches" || rows[1]["outcome"] != "matches" || rows[0]["id"] != "phn_f7w2kx5mb9qz" {
				t.Errorf("report:\n%s", data)
			}
		})
	}
}
