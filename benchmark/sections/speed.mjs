// Items 1 and 2: `signal(0)` and `fromPid` + `close`, ns/op, against Node's
// own kill and against the floor — the same system call issued in a native
// loop inside this process, measured in the same interleaved rounds.
//
// The rows between kill-target and the floor split the gap: a bare N-API
// function (one JavaScript → native crossing per call), an N-API class
// method (adds the unwrap of `this`), and the same method through napi-rs's
// generated glue. The bare class's method (`RawTarget#signal(0)`), and its
// constructor and `close()`, are the floors `signal(0)` and `fromPid` +
// `close` are held to: the least a class-shaped call or object can cost.

import { check, fdCount, makeCase, measure, median, ratio, settle, sleeper, spawned } from '../lib/harness.mjs'

const KT = '▸ kill-target'

export async function speed({ KillTarget, floor, rounds, roundMs }) {
  const host = sleeper()
  await spawned(host)
  const target = KillTarget.fromChildProcess(host)
  check(target.raceFree, 'the benchmark target is not race-free (no pidfd)')
  const fd = floor.raw.pidfdOpen(host.pid)
  check(fd >= 0, `floor pidfdOpen failed: errno ${-fd}`)
  const floorTarget = new floor.FloorTarget(host.pid)
  const rawTarget = new floor.raw.RawTarget(host.pid)
  const c = { KillTarget, target, child: host, pid: host.pid, process, floor, raw: floor.raw, fd, floorTarget, rawTarget }

  const signal = [
    makeCase(KT, 'target.signal(0)', 'c.target.signal(0)', c),
    makeCase('node', 'child.kill(0)', 'c.child.kill(0)', c, { node: 'child' }),
    makeCase('node', 'process.kill(pid, 0)', 'c.process.kill(c.pid, 0)', c),
    makeCase('napi-rs class', 'FloorTarget#signal(0)', 'c.floorTarget.signal(0)', c),
    makeCase('N-API class', 'RawTarget#signal(0)', 'c.rawTarget.signal(0)', c),
    makeCase('N-API fn', 'pidfdSignal0(fd)', 'c.raw.pidfdSignal0(c.fd)', c),
    // By name: SIGCONT does nothing to a process that is not stopped.
    makeCase(KT, "target.signal('SIGCONT')", "c.target.signal('SIGCONT')", c),
    makeCase('node', "child.kill('SIGCONT')", "c.child.kill('SIGCONT')", c),
    makeCase('native loop', 'pidfd_send_signal(fd, 0)', '', c, {
      isFloor: true,
      loop: (c, n) => c.floor.pidfdSignal0Loop(c.fd, n),
    }),
  ]
  const overhead = [
    makeCase(KT, 'target.pid (getter)', 'c.target.pid === c.pid', c),
    makeCase('napi-rs class', 'FloorTarget#noop()', '(c.floorTarget.noop(), true)', c),
    makeCase('napi-rs fn', 'noop()', '(c.floor.noop(), true)', c),
    makeCase('N-API fn', 'noop()', '(c.raw.noop(), true)', c, { isFloor: true }),
  ]
  measure([...signal, ...overhead], { rounds, roundMs })

  // Opening allocates (objects, finalizers): rounds of its own, so that
  // garbage does not land in the rounds above.
  await settle()
  const fdsBefore = fdCount()
  const open = [
    makeCase(KT, 'fromPid(pid) + close()', '(c.t = c.KillTarget.fromPid(c.pid), c.t.close(), true)', c),
    makeCase(KT, 'fromChildProcess(child) + close()', '(c.t = c.KillTarget.fromChildProcess(c.child), c.t.close(), true)', c),
    makeCase('napi-rs class', 'new FloorTarget(pid) + close()', '(c.f = new c.floor.FloorTarget(c.pid), c.f.close(), true)', c),
    makeCase('N-API class', 'new RawTarget(pid) + close()', '(c.r = new c.raw.RawTarget(c.pid), c.r.close(), true)', c),
    makeCase('N-API fn', 'pidfdOpen(pid) + closeFd(fd)', 'c.raw.closeFd(c.raw.pidfdOpen(c.pid)) === 0', c),
    makeCase('native loop', 'pidfd_open + close', '', c, {
      isFloor: true,
      loop: (c, n) => c.floor.pidfdOpenCloseLoop(c.pid, n),
    }),
    // What fromChildProcess adds in the kernel: its parentage check.
    makeCase('native loop', 'parentage check', '', c, {
      loop: (c, n) => c.floor.parentageCheckLoop(c.fd, n),
    }),
  ]
  measure(open, { rounds, roundMs })
  await settle()
  check(fdCount() === fdsBefore, `open + close left ${fdCount() - fdsBefore} descriptors open`)

  target.close()
  floorTarget.close()
  floor.raw.closeFd(fd)
  host.kill('SIGKILL')

  const childKill = signal.find((x) => x.node === 'child')
  const group = (title, floorName, cases, withNode) => {
    const floorCase = cases.find((x) => x.isFloor)
    return {
      title,
      floor: floorName,
      rows: cases.map((x) => ({
        who: x.who,
        name: x.name,
        samples: x.samples,
        vsChildKill: withNode ? ratio(x, childKill) : undefined,
        vsFloor: x.isFloor ? 1 : ratio(x, floorCase),
        isFloor: Boolean(x.isFloor),
      })),
    }
  }
  // The baselines, each measured in the same rounds as what it judges.
  // Each floor is also given against the baseline it stands beside, so a
  // comparison with Node's own call shows where the floor sits on its scale.
  const named = (cases, name) => cases.find((x) => x.name === name)
  const rawSignal = named(signal, 'RawTarget#signal(0)')
  const rawOpen = named(open, 'new RawTarget(pid) + close()')
  const napiOpen = named(open, 'pidfdOpen(pid) + closeFd(fd)')
  const parentage = named(open, 'parentage check')
  const baselines = {
    signalVsRawTarget: ratio(signal[0], rawSignal),
    rawTargetVsChildKill: ratio(rawSignal, childKill),
    fromPidVsNapi: ratio(open[0], napiOpen),
    fromPidVsRawTarget: ratio(open[0], rawOpen),
    rawTargetVsNapi: ratio(rawOpen, napiOpen),
    fromChildVsFromPid: ratio(open[1], open[0]),
    // fromPid + close with the parentage check added, in the same round:
    // the least fromChildProcess + close can cost, against fromPid + close.
    checkedFromPidVsFromPid: median(open[0].samples.map((ns, round) => (ns + parentage.samples[round]) / ns)),
  }
  return {
    groups: [
      group('signal(0)', 'pidfd_send_signal in a native loop', signal, true),
      group('call overhead alone, no system call', 'an empty N-API function', overhead, true),
      group('open + close', 'pidfd_open + close in a native loop', open, false),
    ],
    baselines,
  }
}
