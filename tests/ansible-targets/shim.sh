#!/usr/bin/env bash
# What the stand-ins in shims/ share: `shim.sh NAME CAPSTAN_ARGS... -- ARGS...`
# runs `capstan CAPSTAN_ARGS... ARGS...` in place of the Ansible command
# NAME called with ARGS inside a target's runme.sh, and notes the call (exit
# code, arguments) for the report. A target run in a container of its own
# has each `-i INVENTORY` pointed at the container's inventory
# (CAPSTAN_TARGET_INVENTORY), as ansible-test hands a target the
# inventory of the host it tests.
name=$1
shift
capstan=()
while [ $# -gt 0 ] && [ "$1" != "--" ]; do
    capstan+=("$1")
    shift
done
shift
args=()
while [ $# -gt 0 ]; do
    case "$1" in
        -i | --inventory | --inventory-file)
            if [ -n "${CAPSTAN_TARGET_INVENTORY:-}" ]; then
                args+=(-i "$CAPSTAN_TARGET_INVENTORY")
                shift 2
                continue
            fi
            ;;
    esac
    args+=("$1")
    shift
done
# A playbook run not-applicable.txt names for this target is reported
# as not applicable, and the script goes on.
if [ -n "${CAPSTAN_TARGET_NOT_APPLICABLE:-}" ] && [ -f "$CAPSTAN_TARGET_NOT_APPLICABLE" ]; then
    for arg in "${args[@]}"; do
        why=$(awk -F'\t' -v p="${arg##*/}" '$1 == p { print $2 }' "$CAPSTAN_TARGET_NOT_APPLICABLE")
        if [ -n "$why" ]; then
            echo "capstan-targets: not applicable: ${arg##*/}: $why"
            printf 'n/a\t%s\t%s\n' "${arg##*/}" "$why" >>"$CAPSTAN_TARGET_CALLS"
            exit 0
        fi
    done
fi
# Ansible's debug output (ANSIBLE_DEBUG=1) is Capstan's -vvvv.
case "${ANSIBLE_DEBUG:-}" in
    1 | true | yes | on | True) args+=(-vvvv) ;;
esac
code=0
"$CAPSTAN_BIN" "${capstan[@]}" "${args[@]}" || code=$?
printf '%s\t%s %s\n' "$code" "$name" "${args[*]}" >>"$CAPSTAN_TARGET_CALLS"
exit "$code"
