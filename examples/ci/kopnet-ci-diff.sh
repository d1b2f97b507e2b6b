#!/bin/sh
# KopNet pull/merge-request check: validate the inventory, then render what the change alters.
#
#   examples/ci/kopnet-ci-diff.sh BASE_REVISION COMMENT_FILE [FULL_DIFF_FILE]
#
# Writes the pull-request comment (markdown, first line the marker that lets CI find and update
# its own comment) to COMMENT_FILE and exits with kopnet's convention:
#   0  no rendered configuration changes
#   1  configurations change (the comment shows them, grouped by distinct change)
#   2  usage error of this script or of kopnet
#   3+ the tool failed: invalid inventory, unknown base revision, template error
# CI treats 0 and 1 as success (1 means "review the comment") and anything else as a failure.
set -u

MARKER="<!-- kopnet-config-diff -->"
KOPNET="${KOPNET:-kopnet}"

if [ $# -lt 2 ]; then
    echo "usage: $0 BASE_REVISION COMMENT_FILE [FULL_DIFF_FILE]" >&2
    exit 2
fi
base=$1
comment=$2
full=${3:-}
work=$(mktemp -d) || exit 3
trap 'rm -rf "$work"' EXIT

fence() {  # a fenced block of a file's text, cut so the comment stays postable
    echo '```'
    head -c 60000 "$1"
    echo
    echo '```'
}

"$KOPNET" validate >"$work/validate.out" 2>&1
rc=$?
if [ "$rc" -ne 0 ]; then
    {
        echo "$MARKER"
        echo "### KopNet: the inventory does not validate (exit $rc)"
        echo
        echo "Fix these problems; no configuration was rendered:"
        echo
        fence "$work/validate.out"
    } >"$comment"
    cat "$work/validate.out" >&2
    [ "$rc" -ge 2 ] || rc=3  # an invalid inventory is an error, never "changed"
    exit "$rc"
fi

set -- diff --base "$base" --format markdown --exit-code
if [ -n "$full" ]; then  # every device's diff, for a CI artifact the comment points to
    set -- "$@" --full-diff "$full"
fi
"$KOPNET" "$@" >"$work/diff.md" 2>"$work/diff.err"
rc=$?
case "$rc" in
    0 | 1)
        { echo "$MARKER"; cat "$work/diff.md"; } >"$comment"
        ;;
    *)
        {
            echo "$MARKER"
            echo "### KopNet: the configuration diff failed (exit $rc)"
            echo
            fence "$work/diff.err"
        } >"$comment"
        cat "$work/diff.err" >&2
        ;;
esac
exit "$rc"
