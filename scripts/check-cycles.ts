/**
 * Fails when any import cycle exists among the repository's TypeScript
 * files. Type-only imports count: a cycle of types is still two layers that
 * each need the other. Run by `npm test`; see docs/decisions.md for why this
 * is a small script rather than madge or dependency-cruiser.
 *
 *   node scripts/check-cycles.ts [root]
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'

const root = resolve(process.argv[2] ?? join(import.meta.dirname, '..'))
const roots = ['packages', 'test', 'bench', 'examples', 'scripts']
const skip = new Set(['node_modules', 'dist', '.tmp'])

// `import … from '…'`, `export … from '…'`, `import '…'` and `import('…')`.
const SPECIFIERS = [
  /^\s*(?:import|export)\s[^'"]*?\bfrom\s*['"]([^'"]+)['"]/gm,
  /^\s*import\s*['"]([^'"]+)['"]/gm,
  /\bimport\(\s*['"]([^'"]+)['"]\s*\)/g,
]

function files(dir: string): string[] {
  if (!existsSync(dir)) return []
  return readdirSync(dir).flatMap((name) => {
    if (skip.has(name)) return []
    const path = join(dir, name)
    if (statSync(path).isDirectory()) return files(path)
    return /\.(?:ts|js|mjs)$/.test(name) && !name.endsWith('.d.ts') ? [path] : []
  })
}

/** Package name → the directory whose `exports` targets its subpaths resolve against. */
function workspaceExports(): Map<string, string> {
  const map = new Map<string, string>()
  for (const dir of readdirSync(join(root, 'packages'))) {
    const manifest = join(root, 'packages', dir, 'package.json')
    if (!existsSync(manifest)) continue
    const pkg = JSON.parse(readFileSync(manifest, 'utf8')) as { name: string; exports?: unknown }
    const exports = (pkg.exports ?? {}) as Record<string, unknown>
    for (const [subpath, target] of Object.entries(exports)) {
      const entry = typeof target === 'string' ? target : pickDefault(target)
      if (entry === undefined) continue
      map.set(join(pkg.name, subpath), join(root, 'packages', dir, entry))
    }
  }
  return map
}

function pickDefault(target: unknown): string | undefined {
  if (typeof target !== 'object' || target === null) return undefined
  const conditions = target as Record<string, unknown>
  const value = conditions['node'] ?? conditions['default']
  return typeof value === 'string' ? value : pickDefault(value)
}

function edges(file: string, packages: Map<string, string>): string[] {
  // Comments go first: JSDoc examples quote imports that the file does not make.
  const text = readFileSync(file, 'utf8')
    .replace(/\/\*[\s\S]*?\*\//g, '')
    .replace(/^\s*\/\/.*$/gm, '')
  const out: string[] = []
  for (const match of SPECIFIERS.flatMap((pattern) => [...text.matchAll(pattern)])) {
    const specifier = match[1]!
    const target = specifier.startsWith('.')
      ? resolve(dirname(file), specifier)
      : packages.get(specifier)
    if (target !== undefined && existsSync(target)) out.push(target)
  }
  return out
}

/** Tarjan's strongly connected components; each with more than one file, or a self-import, is a cycle. */
function cycles(graph: Map<string, string[]>): string[][] {
  let index = 0
  const indices = new Map<string, number>()
  const low = new Map<string, number>()
  const stack: string[] = []
  const onStack = new Set<string>()
  const found: string[][] = []
  const visit = (node: string): void => {
    indices.set(node, index)
    low.set(node, index++)
    stack.push(node)
    onStack.add(node)
    for (const next of graph.get(node) ?? []) {
      if (!indices.has(next)) {
        visit(next)
        low.set(node, Math.min(low.get(node)!, low.get(next)!))
      } else if (onStack.has(next)) {
        low.set(node, Math.min(low.get(node)!, indices.get(next)!))
      }
    }
    if (low.get(node) !== indices.get(node)) return
    const component: string[] = []
    let member: string
    do {
      member = stack.pop()!
      onStack.delete(member)
      component.push(member)
    } while (member !== node)
    if (component.length > 1 || graph.get(node)?.includes(node)) found.push(component.reverse())
  }
  for (const node of graph.keys()) if (!indices.has(node)) visit(node)
  return found
}

const packages = workspaceExports()
const graph = new Map<string, string[]>()
for (const file of roots.flatMap((dir) => files(join(root, dir)))) {
  graph.set(file, edges(file, packages))
}

/**
 * The runtime's folders are layers (DESIGN.md: "imports flow downward
 * only"), so a cycle between two folders counts even when no single file
 * closes it.
 */
const layered = join(root, 'packages', 'sockworker', 'src')
const layerOf = (file: string): string | undefined => {
  const path = relative(layered, file)
  if (path.startsWith('..')) return undefined
  const [first = '', ...rest] = path.split('/')
  return join(layered, rest.length === 0 ? '.' : first)
}
const layers = new Map<string, string[]>()
for (const [file, targets] of graph) {
  const from = layerOf(file)
  if (from === undefined) continue
  const to = targets.map(layerOf).filter((layer) => layer !== undefined && layer !== from)
  layers.set(from, [...(layers.get(from) ?? []), ...(to as string[])])
}

const found = [
  ...cycles(graph).map((component) => ({ what: 'files', component })),
  ...cycles(layers).map((component) => ({ what: 'runtime layers', component })),
]
if (found.length === 0) {
  console.log(`No import cycles among ${graph.size} files and ${layers.size} runtime layers.`)
} else {
  for (const { what, component } of found) {
    console.error(`Import cycle among ${component.length} ${what}:`)
    for (const file of component) {
      const why = what === 'files' ? '' : ` (imports ${describeEdges(file, component)})`
      console.error(`  ${relative(root, file)}${why}`)
    }
  }
  console.error('Move what both sides need into a lower layer, so that imports flow one way.')
  process.exitCode = 1
}

/** Which files of one layer import which others of the same cycle, to say where to cut. */
function describeEdges(layer: string, component: string[]): string {
  const pairs = new Set<string>()
  for (const [file, targets] of graph) {
    if (layerOf(file) !== layer) continue
    for (const target of targets) {
      const to = layerOf(target)
      if (to !== undefined && to !== layer && component.includes(to)) {
        pairs.add(`${relative(layered, file)} -> ${relative(layered, target)}`)
      }
    }
  }
  return [...pairs].join(', ')
}
