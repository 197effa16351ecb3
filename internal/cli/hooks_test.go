package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestInstallHooks(t *testing.T) {
	dir := gitRepo(t)
	hook := filepath.Join(dir, ".git", "hooks", "pre-commit")

	code, out, errOut := run(t, "", "install-hooks")
	if code != ExitOK || !strings.Contains(out, "Installed pre-commit hook") {
		t.Fatalf("install-hooks: exit %d stdout %q stderr %q", code, out, errOut)
	}
	data, err := os.ReadFile(hook)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(data), "#!/usr/bin/env bash\n") || !strings.Contains(string(data), "agentos check --staged") {
		t.Errorf("hook content = %q", data)
	}
	if st, _ := os.Stat(hook); st.Mode().Perm() != 0o755 {
		t.Errorf("hook mode = %v, want 0755", st.Mode().Perm())
	}

	// Existing hook without flags: refused.
	code, _, errOut = run(t, "", "install-hooks")
	if code != ExitFailure || !strings.Contains(errOut, "Hook already exists") {
		t.Errorf("second install: exit %d stderr %q", code, errOut)
	}

	// --append to a foreign hook adds the block once.
	if err := os.WriteFile(hook, []byte("#!/bin/sh\nmake lint\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if code, _, errOut = run(t, "", "install-hooks", "--append"); code != ExitOK {
		t.Fatalf("append: exit %d %s", code, errOut)
	}
	data, _ = os.ReadFile(hook)
	if !strings.HasPrefix(string(data), "#!/bin/sh\nmake lint\n") || !strings.Contains(string(data), "# Agent OS Pre-commit Check") {
		t.Errorf("appended hook = %q", data)
	}
	code, out, _ = run(t, "", "install-hooks", "--append")
	if code != ExitOK || !strings.Contains(out, "already present") {
		t.Errorf("second append: exit %d stdout %q", code, out)
	}
	if again, _ := os.ReadFile(hook); string(again) != string(data) {
		t.Errorf("second append changed the hook: %q", again)
	}

	// --force replaces it.
	if code, _, _ = run(t, "", "install-hooks", "--force"); code != ExitOK {
		t.Fatalf("force: exit %d", code)
	}
	if data, _ = os.ReadFile(hook); string(data) != hookScript {
		t.Errorf("forced hook = %q", data)
	}
	if code, _, _ = run(t, "", "install-hooks", "--force", "--append"); code != ExitUsage {
		t.Errorf("--force --append: exit %d, want %d", code, ExitUsage)
	}
}

func TestInstallHooksNotARepo(t *testing.T) {
	t.Chdir(t.TempDir())
	t.Setenv("GIT_CEILING_DIRECTORIES", filepath.Dir(mustGetwd(t)))
	code, _, errOut := run(t, "", "install-hooks")
	if code != ExitFailure || !strings.Contains(errOut, "Not a git repository") {
		t.Errorf("exit %d stderr %q", code, errOut)
	}
}

func mustGetwd(t *testing.T) string {
	t.Helper()
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	return wd
}
