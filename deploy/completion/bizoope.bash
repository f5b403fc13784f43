# bash completion for bizoope, bizoope-coordinator and bizoope-worker.
# The commands and options come from the programs' own --help at completion time, so they always
# match the installed version; paths complete as files.
_bizoope_options()
{
    "$@" --help 2>/dev/null | grep -o -- '--[a-z][a-z-]*' | sort -u
}

_bizoope()
{
    local cur=${COMP_WORDS[COMP_CWORD]} prog=${COMP_WORDS[0]} words
    if [ "$prog" = bizoope ] && [ "$COMP_CWORD" -eq 1 ]; then
        words=$("$prog" --help 2>/dev/null | awk '/^  [a-z][a-z]+ / {print $1}')
        COMPREPLY=($(compgen -W "$words --help --version" -- "$cur"))
        return
    fi
    case $cur in
    -*)
        if [ "$prog" = bizoope ]; then
            words=$(_bizoope_options "$prog" "${COMP_WORDS[1]}")
        else
            words=$(_bizoope_options "$prog")
        fi
        COMPREPLY=($(compgen -W "$words" -- "$cur"))
        ;;
    *)
        COMPREPLY=($(compgen -f -- "$cur"))
        ;;
    esac
}
complete -o filenames -F _bizoope bizoope bizoope-coordinator bizoope-worker
