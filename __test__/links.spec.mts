// Every relative link in README.md and docs/ resolves, the way GitHub and
// npm resolve it: the file or folder exists in the repository (not only in
// a build's ignored output), and an #anchor names a heading of the page it
// points into, by GitHub's slugs. External links (with a scheme) are not
// fetched. A self-test below shows that a broken link fails the check.
import { execFileSync } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, relative, resolve, sep } from 'node:path'
import { fileURLToPath } from 'node:url'

import test from 'ava'

const ROOT = fileURLToPath(new URL('..', import.meta.url))

/** The Markdown without its fenced code blocks (each line left blank). */
function withoutFences(markdown: string): string {
  let fence: string | null = null
  const lines = markdown.split('\n').map((line) => {
    const opener = /^ {0,3}(`{3,}|~{3,})/.exec(line)
    if (fence === null && opener) {
      fence = opener[1]
      return ''
    }
    if (fence !== null) {
      if (line.trim().startsWith(fence[0].repeat(fence.length)) && line.trim().replace(/[`~]/g, '') === '') fence = null
      return ''
    }
    return line
  })
  return lines.join('\n')
}

/** The Markdown without its code: fenced blocks left blank, each code span `code`. */
function withoutCode(markdown: string): string {
  return withoutFences(markdown).replace(/(`+)[^`]*?\1/g, 'code')
}

/** GitHub's id for a heading: lower case, punctuation dropped, each space a hyphen. */
export function slug(heading: string): string {
  return heading
    .replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1')
    .replace(/<[^>]+>/g, '')
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\p{M}\s_-]/gu, '')
    .replace(/\s/g, '-')
}

/** The ids a page's anchors can name: its headings' (repeats numbered as GitHub does) and explicit ids. */
export function anchorsOf(markdown: string): Set<string> {
  const ids = new Set<string>()
  const seen = new Map<string, number>()
  // A heading's code spans count as their text: `a` gives "a".
  const text = withoutFences(markdown).replace(/(`+)([^`]*?)\1/g, '$2')
  for (const [, heading] of text.matchAll(/^ {0,3}#{1,6}[ \t]+(.*?)(?:[ \t]+#+)?[ \t]*$/gm)) {
    const base = slug(heading)
    const n = seen.get(base) ?? 0
    seen.set(base, n + 1)
    ids.add(n === 0 ? base : `${base}-${n}`)
  }
  for (const [, id] of text.matchAll(/<a\s[^>]*\b(?:id|name)\s*=\s*["']([^"']+)["']/gi)) ids.add(id)
  return ids
}

/** Every link target of a page outside its code: inline links and images, reference definitions, HTML href and src. */
export function linksOf(markdown: string): string[] {
  const text = withoutCode(markdown)
  const found: string[] = []
  for (const m of text.matchAll(/!?\[(?:[^[\]]|\[[^\]]*\])*\]\(\s*(<[^>]*>|[^)\s]+)(?:\s+(?:"[^"]*"|'[^']*'|\([^)]*\)))?\s*\)/g)) {
    found.push(m[1].replace(/^<|>$/g, ''))
  }
  for (const m of text.matchAll(/^ {0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)/gm)) found.push(m[1])
  for (const m of text.matchAll(/<(?:a|img)\s[^>]*\b(?:href|src)\s*=\s*["']([^"']+)["']/gi)) found.push(m[1])
  return found
}

function ignoredByGit(root: string, path: string): boolean {
  try {
    execFileSync('git', ['-C', root, 'check-ignore', '-q', '--', path], { stdio: 'ignore' })
    return true
  } catch {
    return false
  }
}

/** What is wrong with each relative link of `file` (a path under `root`): empty when all resolve. */
export function brokenLinks(root: string, file: string): string[] {
  const page = readFileSync(join(root, file), 'utf8')
  const problems: string[] = []
  for (const link of linksOf(page)) {
    if (/^[a-z][a-z0-9+.-]*:/i.test(link) || link.startsWith('//')) continue
    const hash = link.indexOf('#')
    const pathPart = decodeURIComponent(hash < 0 ? link : link.slice(0, hash))
    const anchor = hash < 0 ? null : decodeURIComponent(link.slice(hash + 1))
    const target = pathPart === '' ? join(root, file) : pathPart.startsWith('/') ? join(root, pathPart) : resolve(root, dirname(file), pathPart)
    const shown = `${link} (in ${file})`
    if (target !== resolve(root) && !target.startsWith(resolve(root) + sep)) {
      problems.push(`${shown}: outside the repository`)
      continue
    }
    if (!existsSync(target)) {
      problems.push(`${shown}: ${relative(root, target)} does not exist`)
      continue
    }
    if (ignoredByGit(root, relative(root, target) || '.')) {
      problems.push(`${shown}: ${relative(root, target)} is ignored by git, so not in the repository`)
      continue
    }
    if (anchor !== null) {
      if (!target.endsWith('.md')) {
        problems.push(`${shown}: an anchor into ${relative(root, target)}, which is not a Markdown page`)
      } else if (!anchorsOf(readFileSync(target, 'utf8')).has(anchor)) {
        problems.push(`${shown}: ${relative(root, target)} has no heading #${anchor}`)
      }
    }
  }
  return problems
}

function markdownUnder(root: string, dir: string): string[] {
  return readdirSync(join(root, dir), { withFileTypes: true }).flatMap((entry) => {
    const path = `${dir}/${entry.name}`
    if (entry.isDirectory()) return markdownUnder(root, path)
    return entry.name.endsWith('.md') ? [path] : []
  })
}

const pages = ['README.md', 'ARCHITECTURE.md', ...markdownUnder(ROOT, 'docs')]

test('the pages checked: README.md, ARCHITECTURE.md and every page in docs/', (t) => {
  t.true(pages.length > 1, pages.join(', '))
})

for (const page of pages) {
  test(`${page}: every relative link and #anchor resolves`, (t) => {
    t.true(linksOf(readFileSync(join(ROOT, page), 'utf8')).length > 0 || page !== 'README.md', 'the README links somewhere')
    t.deepEqual(brokenLinks(ROOT, page), [])
  })
}

test('a missing file, a missing anchor and a link out of the repository are each reported (what the checks above rely on)', (t) => {
  const root = mkdtempSync(join(tmpdir(), 'links-'))
  try {
    mkdirSync(join(root, 'docs'))
    writeFileSync(
      join(root, 'docs', 'page.md'),
      [
        '# A `code` heading: with punctuation?',
        '',
        '## Twice',
        '## Twice',
        '',
        '[fine](#a-code-heading-with-punctuation) [fine](#twice-1) [fine](../README.md) [fine](https://example.com/x#y)',
        '[gone](missing.md) [no such heading](../README.md#nowhere) ![out](../../elsewhere.svg)',
        '`[in code](missing-too.md)`',
        '```',
        '[in a block](missing-three.md)',
        '```',
        '[also gone][ref]',
        '',
        '[ref]: ./nothing-here.md',
      ].join('\n'),
    )
    writeFileSync(join(root, 'README.md'), '# Readme\n\n[page](docs/page.md#twice) [bad](docs/page.md#thrice)\n')
    t.deepEqual(brokenLinks(root, 'docs/page.md'), [
      'missing.md (in docs/page.md): docs/missing.md does not exist',
      '../README.md#nowhere (in docs/page.md): README.md has no heading #nowhere',
      '../../elsewhere.svg (in docs/page.md): outside the repository',
      './nothing-here.md (in docs/page.md): docs/nothing-here.md does not exist',
    ])
    t.deepEqual(brokenLinks(root, 'README.md'), ['docs/page.md#thrice (in README.md): docs/page.md has no heading #thrice'])
  } finally {
    rmSync(root, { recursive: true, force: true })
  }
})

test('ARCHITECTURE.md links every folder of src/ and of the repository', (t) => {
  const linked = new Set(linksOf(readFileSync(join(ROOT, 'ARCHITECTURE.md'), 'utf8')).map((link) => link.replace(/\/$/, '')))
  // The folders git holds files in: not what a build or a test leaves.
  const tracked = execFileSync('git', ['-C', ROOT, 'ls-files'], { encoding: 'utf8' }).split('\n')
  const folders = new Set<string>()
  for (const path of tracked) {
    const parts = path.split('/')
    if (parts.length > 1 && !parts[0].startsWith('.')) folders.add(parts[0])
    if (parts[0] === 'src' && parts.length > 2) folders.add(`src/${parts[1]}`)
  }
  t.deepEqual([...folders].filter((folder) => !linked.has(folder)), [])
})
