#!/usr/bin/env node
// @ts-check
/**
 * Token tests of the TextMate grammar (syntaxes/rubric.tmLanguage.json), run with the
 * engine VS Code itself uses (vscode-textmate on vscode-oniguruma):
 *
 * 1. every regex of the grammar compiles in Oniguruma;
 * 2. golden files: every shipped rubric (rubrics/<name>/<name>.rubric and
 *    docs/examples/*.rubric) and every case of test/cases/*.rubric is tokenised and compared with test/golden/<name>.tokens,
 *    one line per token, `LINE:COL "TEXT" SCOPE SCOPE...` (1-based; the root scope
 *    source.rubric left out, and so are tokens of blanks that carry only meta scopes);
 * 3. assertions: snippets whose tokens must carry a given scope (a keyword, a string,
 *    an escape, a comment, a suppression comment, a regex and its flags, a number...).
 *
 *     node test/tokens.js            check
 *     node test/tokens.js --update   rewrite the golden files from the grammar
 *
 * Exit status 0 when everything passes, 1 otherwise; the last line says how many
 * checks passed and failed.
 */
'use strict';

const fs = require('fs');
const path = require('path');
const vsctm = require('vscode-textmate');
const oniguruma = require('vscode-oniguruma');

const HERE = __dirname;
const EXTENSION = path.resolve(HERE, '..');
const ROOT = path.resolve(EXTENSION, '..', '..');
const GRAMMAR = path.join(EXTENSION, 'syntaxes', 'rubric.tmLanguage.json');
const GOLDEN = path.join(HERE, 'golden');
const SCOPE = 'source.rubric';

/** @returns {Promise<vsctm.IGrammar>} */
async function loadGrammar() {
  const wasm = fs.readFileSync(path.join(path.dirname(require.resolve('vscode-oniguruma')), 'onig.wasm'));
  await oniguruma.loadWASM(wasm.buffer.slice(wasm.byteOffset, wasm.byteOffset + wasm.byteLength));
  const registry = new vsctm.Registry({
    onigLib: Promise.resolve({
      createOnigScanner: (sources) => new oniguruma.OnigScanner(sources),
      createOnigString: (s) => new oniguruma.OnigString(s),
    }),
    loadGrammar: async (scopeName) => {
      if (scopeName !== SCOPE) return null;
      return vsctm.parseRawGrammar(fs.readFileSync(GRAMMAR, 'utf8'), GRAMMAR);
    },
  });
  const grammar = await registry.loadGrammar(SCOPE);
  if (!grammar) throw new Error(`${GRAMMAR}: the grammar did not load`);
  return grammar;
}

/**
 * @typedef {{line: number, col: number, text: string, scopes: string[]}} Token
 * @param {vsctm.IGrammar} grammar
 * @param {string} source
 * @returns {Token[]}
 */
function tokenize(grammar, source) {
  const lines = source.replace(/^\uFEFF/, '').split(/\r\n|\r|\n/);
  /** @type {Token[]} */
  const out = [];
  let stack = vsctm.INITIAL;
  lines.forEach((line, i) => {
    const r = grammar.tokenizeLine(line, stack);
    for (const t of r.tokens) {
      const text = line.slice(t.startIndex, t.endIndex);
      if (text === '') continue;
      out.push({ line: i + 1, col: t.startIndex + 1, text, scopes: t.scopes });
    }
    stack = r.ruleStack;
  });
  return out;
}

/** @param {Token[]} tokens */
function render(tokens) {
  return tokens
    .filter((t) => !(/^\s*$/.test(t.text) && t.scopes.slice(1).every((s) => s.startsWith('meta.'))))
    .map((t) => `${t.line}:${t.col} ${JSON.stringify(t.text)} ${t.scopes.slice(1).join(' ')}`.trimEnd())
    .join('\n') + '\n';
}

/** Every shipped rubric, by the name of its golden file. @returns {[string, string][]} */
function shippedRubrics() {
  /** @type {[string, string][]} */
  const found = [];
  const rubrics = path.join(ROOT, 'rubrics');
  for (const dir of fs.existsSync(rubrics) ? fs.readdirSync(rubrics).sort() : []) {
    const d = path.join(rubrics, dir);
    if (!fs.statSync(d).isDirectory()) continue;
    for (const f of fs.readdirSync(d).sort()) {
      if (f.endsWith('.rubric')) found.push([`rubrics-${f.slice(0, -7)}`, path.join(d, f)]);
    }
  }
  // the grammar's own cases: corners the shipped rubrics do not show
  const cases = path.join(HERE, 'cases');
  for (const f of fs.existsSync(cases) ? fs.readdirSync(cases).sort() : []) {
    if (f.endsWith('.rubric')) found.push([`cases-${f.slice(0, -7)}`, path.join(cases, f)]);
  }
  const examples = path.join(ROOT, 'docs', 'examples');
  for (const f of fs.existsSync(examples) ? fs.readdirSync(examples).sort() : []) {
    if (f.endsWith('.rubric')) found.push([`examples-${f.slice(0, -7)}`, path.join(examples, f)]);
  }
  return found;
}

/** Every regex string of the grammar, with where it stands. @returns {[string, string][]} */
function grammarRegexes() {
  /** @type {[string, string][]} */
  const out = [];
  /** @param {any} node @param {string} where */
  const walk = (node, where) => {
    if (Array.isArray(node)) {
      node.forEach((n, i) => walk(n, `${where}[${i}]`));
    } else if (node && typeof node === 'object') {
      for (const [k, v] of Object.entries(node)) {
        if ((k === 'match' || k === 'begin' || k === 'end' || k === 'while') && typeof v === 'string') {
          out.push([`${where}.${k}`, v]);
        } else {
          walk(v, `${where}.${k}`);
        }
      }
    }
  };
  walk(JSON.parse(fs.readFileSync(GRAMMAR, 'utf8')), '$');
  return out;
}

// ---- scope assertions ------------------------------------------------------------------------------------
// [snippet, token text, the scope the token must carry (a prefix of one of its scopes)]
// or with a `!` before the scope: a scope the token must not carry.
/** @type {[string, string, string][]} */
const ASSERTIONS = [
  // keywords and declarations
  ['rubric "r" version "1"', 'rubric', 'keyword.other.rubric'],
  ['rubric "r" version "1"', 'version', 'keyword.other.version'],
  ['input prompt: text from data.prompt', 'input', 'storage.type.input'],
  ['input prompt: text from data.prompt', 'prompt', 'entity.name.variable.field'],
  ['input prompt: text from data.prompt', 'text', 'support.type.text'],
  ['input prompt: text from data.prompt', 'from', 'keyword.other.from'],
  ['input prompt: text from data.prompt', 'data', 'variable.other.path'],
  ['label s: enum ordered {low, high} from s optional', 'ordered', 'storage.modifier.ordered'],
  ['label s: enum ordered {low, high} from s optional', 'low', 'constant.other.enum-member'],
  ['label s: enum ordered {low, high} from s optional', 'optional', 'storage.modifier.optional'],
  ['label r: text from r required when s != low', 'required', 'storage.modifier.required'],
  ['label r: text from r required when s != low', 'when', 'keyword.control.when'],
  ['label r: text from r required when s != low', '!=', 'keyword.operator.comparison'],
  ['let x = a and not b', 'let', 'storage.type.let'],
  ['let x = a and not b', 'and', 'keyword.operator.logical'],
  ['let x = a and not b', 'not', 'keyword.operator.logical'],
  ['level borderline "Acceptable in context."', 'level', 'storage.type.level'],
  ['level -3 "very negative"', '-3', 'constant.numeric'],
  ['criterion harm "Harm" {\n  applies when domain == medical\n}', 'criterion', 'storage.type.criterion'],
  ['criterion harm "Harm" {\n  applies when domain == medical\n}', 'applies', 'keyword.control.applies'],
  ['decide safety first {\n  otherwise -> safe\n}', 'decide', 'storage.type.decide'],
  ['decide safety first {\n  otherwise -> safe\n}', 'first', 'storage.modifier.first'],
  ['decide safety first {\n  otherwise -> safe\n}', 'otherwise', 'keyword.control.otherwise'],
  ['decide safety first {\n  otherwise -> safe\n}', '->', 'keyword.operator.arrow'],
  ['decide safety first {\n  otherwise -> safe\n}', 'safe', 'constant.other.enum-member'],
  ['rule r "m" per item severity warning {\n  require x\n}', 'rule', 'storage.type.rule'],
  ['rule r "m" per item severity warning {\n  require x\n}', 'per', 'storage.modifier.per-item'],
  ['rule r "m" per item severity warning {\n  require x\n}', 'warning', 'constant.language.severity'],
  ['rule r "m" per item severity warning {\n  require x\n}', 'require', 'keyword.control.require'],
  ['escalate senior low_conf "why" {\n  when c <= 2\n}', 'escalate', 'storage.type.escalate'],
  ['consensus safety {\n  min annotators 3\n}', 'min', 'keyword.other.min'],
  ['example "e" {\n  given { s: low, t: {a, b} }\n  expect violation r, pass\n}', 'given', 'keyword.other.given'],
  ['example "e" {\n  given { s: low, t: {a, b} }\n  expect violation r, pass\n}', 'expect', 'keyword.other.expect'],
  ['example "e" {\n  given { s: low, t: {a, b} }\n  expect violation r, pass\n}', 'violation', 'constant.language.outcome'],
  ['example "e" {\n  given { s: low, t: {a, b} }\n  expect violation r, pass\n}', 'pass', 'constant.language.outcome.pass'],
  ['example "e" {\n  expect violation r,\n         uncovered d\n}', 'uncovered', 'constant.language.outcome'],
  ['decide d {\n  when a -> x,\n    y\n  when b -> z\n}', 'y', 'constant.other.enum-member'],
  ['decide d {\n  when a -> x\n  when b -> z\n}', 'b', '!constant.other.enum-member'],
  ['record {\n  show = a.b,\n    c.d\n  id = id\n}', 'd', 'variable.other.path'],
  ['type Verdict = enum {safe, unsafe}', 'type', 'storage.type.type'],
  ['type Verdict = enum {safe, unsafe}', 'Verdict', 'entity.name.type'],
  ['import "common.rubric"', 'import', 'keyword.control.import'],
  // contextual keywords stay names where the grammar reads a name
  ['input level: enum {none, basic} from level', 'level', '!storage.type.level'],
  ['let otherwise = count(any)', 'otherwise', '!keyword.control'],
  ['rule require "a rule called require" {\n  when first\n}', 'require', 'entity.name.function.rule'],
  // expressions
  ['let t = harm is not empty', 'empty', 'keyword.operator.word.empty'],
  ['let t = harm any of {violence, hate}', 'any', 'keyword.operator.word.set-test'],
  ['let t = harm any of {violence, hate}', 'hate', 'constant.other.enum-member'],
  ['let t = x in {political, medical}', 'in', 'keyword.operator.word'],
  ['let t = words(r) >= 6', 'words', 'support.function.builtin'],
  ['let t = true or false', 'true', 'constant.language.boolean'],
  // strings, escapes, docstrings
  ['let t = a contains "say \\"hi\\"\\t\\u00e9"', '"', 'string.quoted.double'],
  ['let t = a contains "say \\"hi\\"\\t\\u00e9"', '\\u00e9', 'constant.character.escape'],
  ['let t = a contains "bad \\q escape"', '\\q', 'invalid.illegal.escape'],
  ['"""\nGuidance text.\n"""', 'Guidance text.', 'string.quoted.docstring'],
  ['rule x "a # in a string is no comment" {}', 'a # in a string is no comment', '!comment'],
  // numbers
  ['label c: scale 1..5 from c', '1', 'constant.numeric.integer'],
  ['label c: scale 1..5 from c', '..', 'keyword.operator.range'],
  ['label c: number -0.5..0.5 from c', '0.5', 'constant.numeric.decimal'],
  // comments and suppressions
  ['# a comment', ' a comment', 'comment.line.number-sign'],
  ['label ok: bool from ok   # after a declaration', ' after a declaration', 'comment.line.number-sign'],
  ['decide s {  # rubric: ignore[RB204, dead-condition] known gap', 'RB204', 'constant.other.diagnostic-code'],
  ['decide s {  # rubric: ignore[RB204, dead-condition] known gap', 'dead-condition', 'constant.other.diagnostic-name'],
  ['decide s {  # rubric: ignore[RB204, dead-condition] known gap', 'ignore', 'keyword.other.suppression'],
  ['decide s {  # rubric: ignore[RB204, dead-condition] known gap', ' known gap', 'comment.line.number-sign.suppression'],
  // regexes
  ['let r = t matches /\\b(I can\'t|I won\'t)\\b/i', 'matches', 'keyword.operator.word.matches'],
  ['let r = t matches /\\b(I can\'t|I won\'t)\\b/i', '\\b', 'constant.character.escape.backslash.regexp'],
  ['let r = t matches /\\b(I can\'t|I won\'t)\\b/i', '|', 'keyword.operator.or.regexp'],
  ['let r = t matches /\\b(I can\'t|I won\'t)\\b/i', 'i', 'keyword.other.flag.regexp'],
  ['let r = t matches /https?:\\/\\/\\S+ # no comment/', ' # no comment', 'string.regexp'],
  ['let r = t matches /x/q', 'q', 'invalid.illegal.flag.regexp'],
  ['let r = a / b', '/', 'keyword.operator.arithmetic'],
];

/**
 * @param {vsctm.IGrammar} grammar
 * @returns {string[]} what failed
 */
function checkAssertions(grammar) {
  const failures = [];
  for (const [snippet, text, want] of ASSERTIONS) {
    const tokens = tokenize(grammar, snippet).filter((t) => t.text === text);
    const negate = want.startsWith('!');
    const scope = negate ? want.slice(1) : want;
    const has = (/** @type {Token} */ t) => t.scopes.some((s) => s === scope || s.startsWith(`${scope}.`));
    if (tokens.length === 0) {
      failures.push(`${JSON.stringify(snippet)}: no token ${JSON.stringify(text)}; tokens: ${render(tokenize(grammar, snippet)).trim()}`);
    } else if (negate ? tokens.some(has) : !tokens.some(has)) {
      const got = tokens.map((t) => t.scopes.join(' ')).join(' | ');
      failures.push(`${JSON.stringify(snippet)}: ${JSON.stringify(text)} ${negate ? 'has' : 'lacks'} ${scope} (scopes: ${got})`);
    }
  }
  return failures;
}

/** A short account of the first lines where two renderings differ. */
function firstDifference(/** @type {string} */ want, /** @type {string} */ got) {
  const a = want.split('\n');
  const b = got.split('\n');
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    if (a[i] !== b[i]) return `line ${i + 1} of the golden file: expected ${JSON.stringify(a[i] ?? '(end)')}, got ${JSON.stringify(b[i] ?? '(end)')}`;
  }
  return 'identical';
}

async function main() {
  const update = process.argv.includes('--update');
  let passed = 0;
  /** @type {string[]} */
  const failed = [];
  const grammar = await loadGrammar();

  for (const [where, source] of grammarRegexes()) {
    try {
      new oniguruma.OnigScanner([source]).dispose();
      passed++;
    } catch (e) {
      failed.push(`regex ${where} does not compile: ${e instanceof Error ? e.message : e}`);
    }
  }

  const shipped = shippedRubrics();
  if (shipped.length === 0) failed.push(`no shipped rubric found under ${ROOT}`);
  fs.mkdirSync(GOLDEN, { recursive: true });
  const expected = new Set(shipped.map(([name]) => `${name}.tokens`));
  for (const [name, file] of shipped) {
    const got = render(tokenize(grammar, fs.readFileSync(file, 'utf8')));
    const golden = path.join(GOLDEN, `${name}.tokens`);
    if (update) {
      const tmp = `${golden}.tmp`;
      fs.writeFileSync(tmp, got);
      fs.renameSync(tmp, golden);
      passed++;
    } else if (!fs.existsSync(golden)) {
      failed.push(`${path.relative(ROOT, file)}: no golden file ${path.relative(ROOT, golden)} (run with --update)`);
    } else {
      const want = fs.readFileSync(golden, 'utf8');
      if (want === got) passed++;
      else failed.push(`${path.relative(ROOT, file)}: tokens differ from ${path.relative(ROOT, golden)}: ${firstDifference(want, got)}`);
    }
  }
  for (const f of fs.readdirSync(GOLDEN).filter((f) => f.endsWith('.tokens') && !expected.has(f))) {
    if (update) fs.unlinkSync(path.join(GOLDEN, f));
    else failed.push(`test/golden/${f}: no shipped rubric has this golden file (run with --update to remove it)`);
  }

  const wrong = checkAssertions(grammar);
  passed += ASSERTIONS.length - wrong.length;
  failed.push(...wrong);

  for (const f of failed) console.log(`FAIL ${f}`);
  if (update) console.log(`wrote ${shipped.length} golden files to ${path.relative(ROOT, GOLDEN)}`);
  console.log(`tokens: ${passed} passed, ${failed.length} failed`);
  process.exitCode = failed.length ? 1 : 0;
}

if (require.main === module) {
  main().catch((e) => {
    console.error(e instanceof Error ? e.stack : e);
    process.exitCode = 2;
  });
}

module.exports = { loadGrammar, tokenize, render };
