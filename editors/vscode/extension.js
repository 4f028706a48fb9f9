// @ts-check
/**
 * The Rubric extension: the language (syntax colouring, brackets, comments) comes from
 * package.json and the TextMate grammar; this file starts the language server,
 * `rubric lsp`, over standard input and output, with the command from the settings
 * `rubric.server.path` (default `rubric`) and `rubric.server.args` (default `["lsp"]`).
 */
'use strict';

const vscode = require('vscode');
const { LanguageClient, TransportKind } = require('vscode-languageclient/node');

/** @type {LanguageClient | undefined} */
let client;

/** @returns {{command: string, args: string[]}} */
function serverCommand() {
  const config = vscode.workspace.getConfiguration('rubric.server');
  const command = (config.get('path') || 'rubric').toString().trim() || 'rubric';
  const args = config.get('args');
  return { command, args: Array.isArray(args) ? args.map(String) : ['lsp'] };
}

async function start() {
  const { command, args } = serverCommand();
  /** @type {import('vscode-languageclient/node').ServerOptions} */
  const serverOptions = { command, args, transport: TransportKind.stdio };
  /** @type {import('vscode-languageclient/node').LanguageClientOptions} */
  const clientOptions = {
    documentSelector: [
      { scheme: 'file', language: 'rubric' },
      { scheme: 'untitled', language: 'rubric' },
    ],
    synchronize: {
      fileEvents: vscode.workspace.createFileSystemWatcher('**/*.rubric'),
    },
  };
  client = new LanguageClient('rubric', 'Rubric Language Server', serverOptions, clientOptions);
  try {
    await client.start();
  } catch (e) {
    const why = e instanceof Error ? e.message : String(e);
    const choice = await vscode.window.showErrorMessage(
      `The rubric language server (${command} ${args.join(' ')}) did not start: ${why}. ` +
        'Install rubricdsl (pip install rubricdsl) or set "rubric.server.path" to its `rubric` command.',
      'Open Settings',
    );
    if (choice === 'Open Settings') {
      await vscode.commands.executeCommand('workbench.action.openSettings', 'rubric.server');
    }
  }
}

async function stop() {
  const running = client;
  client = undefined;
  if (running) {
    try {
      await running.stop();
    } catch {
      // a server that never started has nothing to stop
    }
  }
}

/** @param {vscode.ExtensionContext} context */
async function activate(context) {
  context.subscriptions.push(
    vscode.commands.registerCommand('rubric.restartServer', async () => {
      await stop();
      await start();
    }),
    vscode.workspace.onDidChangeConfiguration(async (event) => {
      if (event.affectsConfiguration('rubric.server')) {
        await stop();
        await start();
      }
    }),
  );
  await start();
}

function deactivate() {
  return stop();
}

module.exports = { activate, deactivate };
