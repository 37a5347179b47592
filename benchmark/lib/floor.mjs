// benchmark/floor: the same system calls from native code in this process.
// A crate of its own, never part of the published addon; built here.

import { execFileSync } from 'node:child_process'
import { copyFileSync, existsSync, statSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

import { progress } from './harness.mjs'

const FLOOR_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', 'floor')

/** Builds the floor addon (a quick no-op when up to date) and loads it. */
export function loadFloor() {
  const target = join(FLOOR_DIR, 'target')
  const built = join(target, 'release', 'libkill_target_bench_floor.so')
  const addon = join(target, 'floor.node')
  if (!existsSync(built)) progress('building the floor addon, benchmark/floor (first run only, ~1 min)')
  try {
    execFileSync(
      'cargo',
      ['build', '--release', '--manifest-path', join(FLOOR_DIR, 'Cargo.toml'), '--target-dir', target],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    )
  } catch (error) {
    process.stderr.write(String(error.stderr ?? error.message))
    throw new Error('cannot build the floor: cargo build --release --manifest-path benchmark/floor/Cargo.toml')
  }
  if (!existsSync(addon) || statSync(addon).mtimeMs < statSync(built).mtimeMs) copyFileSync(built, addon)
  return createRequire(import.meta.url)(addon)
}
