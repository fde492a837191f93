#!/usr/bin/env python3
"""Writes a Jepsen-EDN key-value history recorded from a correct in-memory
store driven by many concurrent simulated clients, for measuring
`chorus check` on histories larger than the shared reference data.

Each operation takes effect atomically at a random moment between its
invocation and its completion, so the history is linearizable; --corrupt
changes the response of one late get, which almost always makes it not.

    python3 Scripts/kv_history.py --clients 50 --operations 5000 --seed 1 > /tmp/c50-ok.edn
"""
import argparse
import random


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--operations", type=int, default=5000)
    parser.add_argument("--keys", type=int, default=10)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--corrupt", action="store_true")
    arguments = parser.parse_args()
    generator = random.Random(arguments.seed)
    store = {}
    state = ["idle"] * arguments.clients
    pending = [None] * arguments.clients
    lines = []
    invoked = 0
    while invoked < arguments.operations or any(s != "idle" for s in state):
        client = generator.randrange(arguments.clients)
        if state[client] == "idle":
            if invoked >= arguments.operations:
                continue
            key = str(generator.randrange(arguments.keys))
            roll = generator.random()
            if roll < 0.45:
                operation = ("get", key, None)
            elif roll < 0.9:
                operation = ("append", key, "x %d %d y" % (client, invoked))
            else:
                operation = ("put", key, "x %d %d y" % (client, invoked))
            invoked += 1
            pending[client] = operation
            state[client] = "invoked"
            function, key, value = operation
            shown = "nil" if value is None else '"%s"' % value
            lines.append('{:process %d, :type :invoke, :f :%s, :key "%s", :value %s}' % (client, function, key, shown))
        elif state[client] == "invoked":
            function, key, value = pending[client]
            if function == "get":
                pending[client] = (function, key, store.get(key, ""))
            elif function == "append":
                store[key] = store.get(key, "") + value
            else:
                store[key] = value
            state[client] = "applied"
        else:
            function, key, value = pending[client]
            lines.append('{:process %d, :type :ok, :f :%s, :key "%s", :value "%s"}' % (client, function, key, value))
            state[client] = "idle"
    if arguments.corrupt:
        gets = [i for i, line in enumerate(lines) if ":type :ok, :f :get" in line]
        index = gets[len(gets) * 9 // 10]
        head, _, _ = lines[index].rpartition(":value ")
        lines[index] = head + ':value "corrupted"}'
    print("\n".join(lines))


if __name__ == "__main__":
    main()
