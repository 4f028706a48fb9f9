#!/usr/bin/env node
// @ts-check
/**
 * Tests of extension.js outside VS Code: `vscode` and `vscode-languageclient/node` are
 * replaced by recording fakes, and the extension is activated against them.
 *
 * - the server is `rubric lsp` over stdio by default, and the settings
 *   `rubric.server.path` / `rubric.server.args` replace the command and its arguments;
 * - a change of a `rubric.server` setting stops the running client and starts a new one
 *   with the new command; a change of another setting does not;
 * - a server that does not start gives an error message naming the command and the
 *   setting, and activation still succeeds (colouring needs no server).
 *
 *     node test/extension.js
 */
'use strict';

const assert = require('assert');
const Module = require('module');
const path = require('path');

/** What the fakes saw. */
const seen = {
  /** @type {{id: string, name: string, server: any, client: any, started: boolean, stopped: boolean}[]} */
  clients: [],
  /** @type {string[]} */
  errors: [],
  /** @type {Record<string, Function>} */
  commands: {},
  /** @type {Function[]} */
  configListeners: [],
};
/** @type {Record<string, any>} */
let settings = {};
let failStart = false;

class FakeLanguageClient {
  constructor(/** @type {string} */ id, /** @type {string} */ name, /** @type {any} */ server, /** @type {any} */ client) {
    this.record = { id, name, server, client, started: false, stopped: false };
    seen.clients.push(this.record);
  }

  async start() {
    if (failStart) throw new Error('spawn no-such-rubric ENOENT');
    this.record.started = true;
  }

  async stop() {
    this.record.stopped = true;
  }
}

const fakeVscode = {
  workspace: {
    getConfiguration: (/** @type {string} */ section) => ({
      get: (/** @type {string} */ key) => settings[`${section}.${key}`],
    }),
    createFileSystemWatcher: (/** @type {string} */ glob) => ({ glob }),
    onDidChangeConfiguration: (/** @type {Function} */ f) => {
      seen.configListeners.push(f);
      return { dispose() {} };
    },
  },
  window: {
    showErrorMessage: async (/** @type {string} */ message) => {
      seen.errors.push(message);
      return undefined;
    },
  },
  commands: {
    registerCommand: (/** @type {string} */ name, /** @type {Function} */ f) => {
      seen.commands[name] = f;
      return { dispose() {} };
    },
    executeCommand: async () => undefined,
  },
};
const fakeClientModule = { LanguageClient: FakeLanguageClient, TransportKind: { stdio: 0, ipc: 1 } };

// @ts-ignore: Module._load is Node's internal loader
const load = Module._load;
// @ts-ignore
Module._load = function (/** @type {string} */ request, /** @type {any[]} */ ...rest) {
  if (request === 'vscode') return fakeVscode;
  if (request === 'vscode-languageclient/node') return fakeClientModule;
  return load.call(this, request, ...rest);
};
const extension = require(path.join(__dirname, '..', 'extension.js'));

/** @type {[string, () => Promise<void>][]} */
const TESTS = [
  ['the default server is `rubric lsp` over stdio, for rubric files', async () => {
    await extension.activate({ subscriptions: [] });
    assert.strictEqual(seen.clients.length, 1);
    const c = seen.clients[0];
    assert.deepStrictEqual(c.server, { command: 'rubric', args: ['lsp'], transport: 0 });
    assert.ok(c.started);
    assert.deepStrictEqual(c.client.documentSelector.map((/** @type {any} */ s) => s.language), ['rubric', 'rubric']);
    assert.strictEqual(c.client.synchronize.fileEvents.glob, '**/*.rubric');
    assert.deepStrictEqual(seen.errors, []);
    await extension.deactivate();
    assert.ok(c.stopped);
  }],
  ['the settings name the command and its arguments', async () => {
    settings = { 'rubric.server.path': '/opt/venv/bin/rubric', 'rubric.server.args': ['lsp', '--verbose'] };
    await extension.activate({ subscriptions: [] });
    assert.deepStrictEqual(seen.clients[0].server, { command: '/opt/venv/bin/rubric', args: ['lsp', '--verbose'], transport: 0 });
    await extension.deactivate();
  }],
  ['a blank path falls back to `rubric`', async () => {
    settings = { 'rubric.server.path': '  ' };
    await extension.activate({ subscriptions: [] });
    assert.strictEqual(seen.clients[0].server.command, 'rubric');
    await extension.deactivate();
  }],
  ['changing a server setting restarts the server with it; another setting does not', async () => {
    await extension.activate({ subscriptions: [] });
    const listener = seen.configListeners[seen.configListeners.length - 1];
    await listener({ affectsConfiguration: (/** @type {string} */ s) => s === 'editor.fontSize' });
    assert.strictEqual(seen.clients.length, 1);
    settings = { 'rubric.server.path': '/other/rubric' };
    await listener({ affectsConfiguration: (/** @type {string} */ s) => s === 'rubric.server' });
    assert.strictEqual(seen.clients.length, 2);
    assert.ok(seen.clients[0].stopped);
    assert.strictEqual(seen.clients[1].server.command, '/other/rubric');
    assert.ok(seen.clients[1].started && !seen.clients[1].stopped);
    await seen.commands['rubric.restartServer']();
    assert.strictEqual(seen.clients.length, 3);
    assert.ok(seen.clients[1].stopped);
    await extension.deactivate();
  }],
  ['a server that does not start is reported, and activation succeeds', async () => {
    failStart = true;
    settings = { 'rubric.server.path': 'no-such-rubric' };
    await extension.activate({ subscriptions: [] });
    assert.strictEqual(seen.errors.length, 1);
    assert.match(seen.errors[0], /no-such-rubric lsp/);
    assert.match(seen.errors[0], /spawn no-such-rubric ENOENT/);
    assert.match(seen.errors[0], /rubric\.server\.path/);
    await extension.deactivate();
  }],
];

async function main() {
  let passed = 0;
  let failed = 0;
  for (const [name, test] of TESTS) {
    seen.clients = [];
    seen.errors = [];
    seen.configListeners = [];
    settings = {};
    failStart = false;
    try {
      await test();
      passed++;
    } catch (e) {
      failed++;
      console.log(`FAIL ${name}: ${e instanceof Error ? e.message : e}`);
    }
  }
  console.log(`extension: ${passed} passed, ${failed} failed`);
  process.exitCode = failed ? 1 : 0;
}

main();
