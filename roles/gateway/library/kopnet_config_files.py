#!/usr/bin/python3
"""Ansible module: replace a set of configuration files as one validated change.

Every file whose content or mode differs is written to a temporary file beside its
destination and validated there; only when *all* validations pass are the temporaries renamed
over the active files. A failed validation leaves every active file untouched and names the
file, the command and its output. One module run for all files keeps a plan fast on slow
links.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import subprocess
import tempfile

from ansible.module_utils.basic import AnsibleModule

DOCUMENTATION = r"""
module: kopnet_config_files
short_description: Replace configuration files as one validated change
options:
  files:
    description: List of {name, dest, content, mode, validate}; content "__KOPNET_ABSENT__" skips.
    type: list
    elements: dict
    required: true
  secrets:
    description: Secret values substituted into the contents; masked in every result (no_log).
    type: list
    elements: str
    default: []
"""

ABSENT = "__KOPNET_ABSENT__"


def _read(path):
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read(), os.stat(path).st_mode & 0o7777
    except FileNotFoundError:
        return None, None


def main():
    module = AnsibleModule(
        argument_spec={
            "files": {"type": "list", "elements": "dict", "required": True},
            # no_log: AnsibleModule replaces these values with ******** in whatever it returns
            "secrets": {"type": "list", "elements": "str", "no_log": True, "default": []},
        },
        supports_check_mode=True,
    )
    pending = []
    diffs = []
    for spec in module.params["files"]:
        name, dest = spec["name"], spec["dest"]
        content = spec.get("content")
        if content is None or content == ABSENT:
            continue
        mode = int(str(spec.get("mode") or "0644"), 8)
        before, before_mode = _read(dest)
        if before == content and before_mode == mode:
            continue
        pending.append((name, dest, content, mode, spec.get("validate") or ""))
        diffs.append(
            {
                "before": before or "",
                "after": content,
                "before_header": f"{dest} (active)" if before is not None else f"{dest} (absent)",
                "after_header": f"{dest} (rendered {name})",
            }
        )
    changed = [p[0] for p in pending]
    # Echo the arguments without file contents: results are recorded (runner artifacts, logs)
    # and rendered files may carry substituted secrets.
    summary = [{k: v for k, v in f.items() if k != "content"} for f in module.params["files"]]
    result = {
        "changed": bool(pending),
        "changed_files": changed,
        "invocation": {"module_args": {"files": summary}},
    }
    if module._diff:
        result["diff"] = diffs
    if module.check_mode or not pending:
        module.exit_json(**result)
    temps = []
    try:
        for name, dest, content, mode, validate in pending:
            directory = os.path.dirname(dest) or "."
            os.makedirs(directory, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(dest)}.", dir=directory)
            temps.append(tmp)
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(content)
            os.chmod(tmp, mode)
            if validate:
                command = validate.replace("%s", shlex.quote(tmp))
                proc = subprocess.run(
                    command, shell=True, capture_output=True, text=True, timeout=60, check=False
                )
                if proc.returncode != 0:
                    output = (proc.stderr + proc.stdout).replace(tmp, dest).strip()
                    module.fail_json(
                        msg=f"{name} does not validate ({validate.replace('%s', dest)}), "
                        f"nothing was changed: {output[:1500]}",
                        changed=False,
                        failed_file=name,
                        invocation=result["invocation"],
                    )
        for index, tmp in enumerate(temps):
            os.replace(tmp, pending[index][1])
        temps = []
    finally:
        for tmp in temps:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
