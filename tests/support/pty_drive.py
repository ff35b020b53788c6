#!/usr/bin/env python3
"""Runs a command in a pseudo-terminal and answers its questions, as a person would.

    pty_drive.py --prompt TEXT [--answer KEY]... [--stderr FILE] [--timeout SECS] -- CMD...

The command's stdin and stdout are the terminal (its stderr goes to FILE, or the
terminal too). Each time the output shows TEXT, the next answer is typed, followed by
Enter; the terminal echoes it, as it would for a person. Everything the terminal showed
is written to this script's stdout; its exit status is the command's. A question with
no answer left, or a command that outlives the timeout, is killed and fails with 101.
"""

import argparse
import os
import pty
import select
import signal
import sys
import time


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--prompt", required=True)
    parser.add_argument("--answer", action="append", default=[])
    parser.add_argument("--stderr")
    parser.add_argument("--timeout", type=float, default=300)
    parser.add_argument("cmd", nargs=argparse.REMAINDER)
    args = parser.parse_args()
    cmd = args.cmd[1:] if args.cmd and args.cmd[0] == "--" else args.cmd
    prompt = args.prompt.encode()

    pid, fd = pty.fork()
    if pid == 0:
        if args.stderr:
            err = os.open(args.stderr, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
            os.dup2(err, 2)
            os.close(err)
        try:
            os.execvp(cmd[0], cmd)
        finally:
            os._exit(127)

    answers = list(args.answer)
    transcript = bytearray()
    unanswered_from = 0  # where to look for the next question
    deadline = time.monotonic() + args.timeout
    failure = None
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            failure = f"timed out after {args.timeout}s"
            break
        ready, _, _ = select.select([fd], [], [], min(left, 1.0))
        if not ready:
            continue
        try:
            chunk = os.read(fd, 65536)
        except OSError:  # EIO: the command has exited and closed the terminal
            break
        if not chunk:
            break
        transcript += chunk
        at = transcript.find(prompt, unanswered_from)
        if at >= 0:
            unanswered_from = at + len(prompt)
            if not answers:
                failure = "asked a question with no answer left"
                break
            os.write(fd, answers.pop(0).encode() + b"\n")

    if failure:
        os.kill(pid, signal.SIGKILL)
    _, status = os.waitpid(pid, 0)
    sys.stdout.write(transcript.decode("utf-8", "replace"))
    sys.stdout.flush()
    if failure:
        sys.stderr.write(f"pty_drive: {failure}; {len(answers)} answer(s) left\n")
        sys.exit(101)
    if answers:
        sys.stderr.write(f"pty_drive: the command ended with {len(answers)} answer(s) unused: {answers}\n")
        sys.exit(101)
    sys.exit(os.waitstatus_to_exitcode(status) if os.WIFEXITED(status) else 101)


if __name__ == "__main__":
    main()
