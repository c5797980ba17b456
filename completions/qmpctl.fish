# SPDX-License-Identifier: MIT
# fish completion for qmpctl.  Completes the options and their arguments and,
# once the server address is known from -s or QMP_SOCKET, the command names
# after -c and --describe, which it asks the server for with
# "qmpctl --list-commands".

# Operands (KEY=VALUE, KEY:=JSON) are typed, not file names.
complete -c qmpctl -f

# Every option of qmpctl, one line each: a new option is a new line here.
# -r: takes an argument; -F: a file name; -x: an argument that is no file.
complete -c qmpctl -s s -l socket -r -F -d 'server address (default: $QMP_SOCKET)'
complete -c qmpctl -s c -l command -x -a '(__qmpctl_commands)' -d 'the command to run'
complete -c qmpctl -s a -l args -x -a '(__qmpctl_args)' -d 'its arguments: JSON, @FILE or @-'
complete -c qmpctl -s t -l timeout -x -d 'bound the whole run (seconds; 0: none)'
complete -c qmpctl -l wait -x -d 'retry the connect for up to SECONDS'
complete -c qmpctl -l max-size -x -d 'largest message accepted (suffix K, M or G)'
complete -c qmpctl -s p -l pretty -d 'indent the output'
complete -c qmpctl -s f -l full -d 'print whole reply objects'
complete -c qmpctl -s r -l raw -d 'print a string result as bare text'
complete -c qmpctl -s k -l keep-going -d 'in a batch, run the rest after a command error'
complete -c qmpctl -s n -l no-stdin -d 'never read commands from standard input'
complete -c qmpctl -l wait-event -x -d 'wait for events with one of these comma-separated names'
complete -c qmpctl -l fail-event -x -d 'events that mean the operation failed (exit 10)'
complete -c qmpctl -l match -x -d 'KEY=VALUE, KEY (present) or !KEY (absent), for the event before it'
complete -c qmpctl -l count -x -d 'print N matching events (0: until the deadline)'
complete -c qmpctl -l events -r -F -d 'write every event seen to FILE (- for stderr)'
complete -c qmpctl -l qga -d 'the peer is the guest agent (qemu-ga)'
complete -c qmpctl -l listen -r -F -d 'wait for QEMU to connect to ADDR'
complete -c qmpctl -l pass-fd -x -d 'pass descriptor N with the command'
complete -c qmpctl -l hmp -x -d 'run a human monitor command'
complete -c qmpctl -l oob -d 'enable out-of-band execution and use exec-oob'
complete -c qmpctl -l greeting -d "print the server's greeting first"
complete -c qmpctl -l list-commands -d "print the names of the server's commands"
complete -c qmpctl -l describe -x -a '(__qmpctl_commands)' -d "describe a command or event from the server's schema"
complete -c qmpctl -l json -d 'with --describe, print the description as JSON'
complete -c qmpctl -l trace -r -F -d 'write every message sent and received to FILE (- for stderr)'
complete -c qmpctl -l wait-job -x -d 'wait until job ID reaches STATUS (ID[:STATUS])'
complete -c qmpctl -l wait-migration -d 'wait until the migration ends'
complete -c qmpctl -l ready-fd -x -d 'once connected, write a newline to descriptor N'
complete -c qmpctl -l cancel -d 'when the wait ends otherwise, cancel the job or migration'
complete -c qmpctl -l cancel-grace -x -d 'how long --cancel waits for it to stop (seconds)'
complete -c qmpctl -l dismiss -d 'with --wait-job, dismiss the job once concluded'
complete -c qmpctl -l finalize -d 'with --wait-job, finalize the job when pending'
complete -c qmpctl -l progress -r -F -d 'write the progress as JSON lines to FILE (- for stderr)'
complete -c qmpctl -l interval -x -d 'the period of the polls and of --until (seconds)'
complete -c qmpctl -l stall -x -d 'fail when the progress stays the same for SECONDS'
complete -c qmpctl -l until -x -d 'run -c again until its return passes TEST'
complete -c qmpctl -l exec -d 'with --qga, run the program after -- in the guest'
complete -c qmpctl -l get -x -d 'with --qga, copy a guest file to stdout'
complete -c qmpctl -l put -x -d 'with --qga, copy stdin to a guest file'
complete -c qmpctl -l detach -d 'with --exec, start the program and print its pid'
complete -c qmpctl -l exec-status -x -d 'with --qga, wait for a detached program, end as --exec'
complete -c qmpctl -l env -x -d 'with --exec, an environment variable of the program (NAME=VALUE)'
complete -c qmpctl -l merged -d 'with --exec, stdout and stderr as one stream (qemu-ga 8.1+)'
complete -c qmpctl -l screendump -r -F -d 'write a PNG of the display to FILE (- for stdout)'
complete -c qmpctl -l screen-device -x -d 'with --screendump, the display device'
complete -c qmpctl -l screen-head -x -d 'with --screen-device, its head'
complete -c qmpctl -l keys -x -a '(__qmpctl_keys)' -d 'press key combos, as in ctrl-alt-delete,ret'
complete -c qmpctl -l type -x -d 'type TEXT on a US keyboard'
complete -c qmpctl -l hold -x -d 'hold each combo down MS milliseconds'
complete -c qmpctl -l key-delay -x -d 'pause MS milliseconds between keys (default 100)'
complete -c qmpctl -s h -l help -d 'print the usage and exit'
complete -c qmpctl -s V -l version -d 'print the version and exit'

# __qmpctl_addr: the server address of the command line (the last -s ADDR,
# -sADDR, --socket ADDR or --socket=ADDR before the cursor), or QMP_SOCKET.
function __qmpctl_addr
    set -l tokens (commandline -opc)
    set -l addr $QMP_SOCKET
    set -l i 2
    while test $i -le (count $tokens)
        switch $tokens[$i]
            case -s --socket
                set i (math $i + 1)
                set -q tokens[$i]; and set addr $tokens[$i]
            case '--socket=*'
                set addr (string replace -- --socket= '' $tokens[$i])
            case '-s?*'
                set addr (string sub -s 3 -- $tokens[$i])
        end
        set i (math $i + 1)
    end
    string replace -r -- '^~/' "$HOME/" $addr
end

# __qmpctl_commands: the server's command names, asked within 2 seconds
# (with --qga if it is on the line); nothing without an address.
function __qmpctl_commands
    set -l addr (__qmpctl_addr)
    test -n "$addr"; or return
    set -l qga
    contains -- --qga (commandline -opc); and set qga --qga
    qmpctl -s $addr $qga -t 2 --list-commands 2>/dev/null \
        | string replace -r -- '$' \t'QMP command'
end

# __qmpctl_args: after -a, @FILE names a file and @- standard input; JSON is
# typed.
function __qmpctl_args
    set -l tok (commandline -ct)
    string match -q -- '@*' $tok; or return
    printf '%s\t%s\n' @- 'standard input'
    __fish_complete_path (string sub -s 2 -- $tok) | string replace -r -- '^' @
end

# __qmpctl_keys: QEMU's key names (QKeyCode), after the last - or , of the
# combos typed so far.
function __qmpctl_keys
    set -l head (string match -r -- '^.*[-,]' (commandline -ct))
    for k in \
        unmapped shift shift_r alt alt_r ctrl ctrl_r menu esc 1 2 3 4 5 \
        6 7 8 9 0 minus equal backspace tab q w e r t y u i o p \
        bracket_left bracket_right ret a s d f g h j k l semicolon \
        apostrophe grave_accent backslash z x c v b n m comma dot slash \
        asterisk spc caps_lock f1 f2 f3 f4 f5 f6 f7 f8 f9 f10 num_lock \
        scroll_lock kp_divide kp_multiply kp_subtract kp_add kp_enter \
        kp_decimal sysrq kp_0 kp_1 kp_2 kp_3 kp_4 kp_5 kp_6 kp_7 kp_8 \
        kp_9 less f11 f12 print home pgup pgdn end left up down right \
        insert delete stop again props undo front copy open paste find \
        cut lf help meta_l meta_r compose pause ro hiragana henkan yen \
        muhenkan katakanahiragana kp_comma kp_equals power sleep wake \
        audionext audioprev audiostop audioplay audiomute volumeup \
        volumedown mediaselect mail calculator computer ac_home ac_back \
        ac_forward ac_refresh ac_bookmarks lang1 lang2 f13 f14 f15 f16 \
        f17 f18 f19 f20 f21 f22 f23 f24
        printf '%s%s\n' "$head" $k
    end
end
