// Where the time and the memory go, for the targets the package misses or
// holds against a floor: the rows of a pass that split each gap, from the
// kernel's own cost up to the package's call, each measured in the same
// rounds. results.json keeps
// them beside the targets, and the profile table of docs/benchmarks.md is
// drawn from them, so that what it says of the gaps is measured, not argued.

import { median } from './harness.mjs'

/** Steps as data: `path` groups them, `step` says what each adds. */
export function profile(results) {
  const { groups } = results.speed
  const ns = (group, who, name) => {
    const row = groups[group].rows.find((r) => r.who === who && r.name === name)
    if (!row) throw new Error(`no ${who} ${name} row to profile`)
    return median(row.samples)
  }
  const [SIGNAL, CALL, OPEN] = [0, 1, 2]
  const step = (path, what, unit, value) => ({ path, what, unit, value })
  const signal = (what, who, name, group = SIGNAL) => step('`signal(0)`', what, 'ns', ns(group, who, name))
  const open = (what, who, name) => step('open + close', what, 'ns', ns(OPEN, who, name))
  const { perOpenTarget, perWaitingTarget } = results.scale
  const { terminate, killOnExit } = results
  const batch = `\`terminate()\` × ${terminate.children.toLocaleString('en-US')}`
  return [
    signal('`pidfd_send_signal`, in a native loop: the system call alone', 'native loop', 'pidfd_send_signal(fd, 0)'),
    signal('an empty N-API function: one call from JavaScript', 'N-API fn', 'noop()', CALL),
    signal('the system call behind an N-API function', 'N-API fn', 'pidfdSignal0(fd)'),
    signal('… behind an N-API class method (`RawTarget`: unwraps `this`)', 'N-API class', 'RawTarget#signal(0)'),
    signal('`target.signal(0)`: checks the receiver and the argument too', '▸ kill-target', 'target.signal(0)'),
    signal("Node's `child.kill(0)`: an internal binding, no N-API", 'node', 'child.kill(0)'),
    open('`pidfd_open` + `close`, in a native loop', 'native loop', 'pidfd_open + close'),
    open('behind two N-API functions, an int each way', 'N-API fn', 'pidfdOpen(pid) + closeFd(fd)'),
    open("a bare N-API class's constructor and method (`RawTarget`): the wrapped object alone, the floor", 'N-API class', 'new RawTarget(pid) + close()'),
    open("a napi-rs class's constructor and method (`FloorTarget`)", 'napi-rs class', 'new FloorTarget(pid) + close()'),
    open('`fromPid` + `close`: a wrapped object, its finalizer, the id kept for after `close` (an fstat)', '▸ kill-target', 'fromPid(pid) + close()'),
    open('the parentage check alone (`PIDFD_GET_INFO`, or `waitid`), in a native loop', 'native loop', 'parentage check'),
    open('`fromChildProcess` + `close`: reads three properties of the child, checks parentage', '▸ kill-target', 'fromChildProcess(child) + close()'),
    step(batch, 'the kernel alone: a SIGTERM to each from native code, every exit seen on its pidfd', 'ms', median(terminate.floorMs)),
    step(batch, "Node's `child.kill()` + `'exit'`: also reaps each child and emits its event", 'ms', median(terminate.killMs)),
    step(batch, '`terminate()`: a `SIGCONT` and a poll handle more each, a promise settled each', 'ms', median(terminate.terminateMs)),
    step('`killOnExit()`', '`pidfd_send_signal(fd, 0)` and a pidfd sent to another process and answered, in native code', 'us', killOnExit.roundTripUs),
    step('`killOnExit()`', '`killOnExit()`: the check, the keeper, the guardian told and its answer awaited', 'us', killOnExit.armUs),
    step('native memory', 'an open target: the wrap, its finalizer, the target', 'bytes', perOpenTarget.native),
    step('native memory', 'a pending wait on it: libuv poll handle, deferred, tables', 'bytes', perWaitingTarget.native - perOpenTarget.native),
  ]
}
