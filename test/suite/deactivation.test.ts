/**
 * Deactivation disposes everything (run last by index.ts: the extension is gone afterwards). VS Code calls the
 * module's `deactivate()`; this calls the same function of the same loaded module, with a re-analysis timer pending,
 * the panel open and the model process running, and checks that nothing is left: no process, no timer, no panel,
 * no command, no hover.
 */
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { activeApi, attentionHover, hoverText, openUntitled, panelTabs, sampleText, until } from './util';

suite('Deactivation (extension host, last)', () => {
  test('deactivate() leaves no model process, timer, panel, command or hover behind', async () => {
    const { ext, api } = await activeApi();
    const { doc } = await openUntitled(sampleText(ext).slice(0, 1_000));
    await vscode.commands.executeCommand('attentionInspector.inspect');
    const pos = new vscode.Position(3, 0);
    await attentionHover(doc, pos);
    const pid = api.modelProcessPid();
    assert.ok(pid, 'the model process runs');
    assert.equal(panelTabs().length, 1);
    // an edit schedules a re-analysis (debounced): a timer is pending when the extension goes
    const edit = new vscode.WorkspaceEdit();
    edit.insert(doc.uri, new vscode.Position(0, 0), '# edit\n');
    assert.ok(await vscode.workspace.applyEdit(edit));
    assert.ok(api.resources().timers > 0, 'a re-analysis timer is pending');

    // the module VS Code loaded (same require cache), so this is the deactivate VS Code itself calls
    const mod = require(path.join(ext.extensionPath, 'out', 'extension.js')) as { deactivate(): void };
    mod.deactivate();

    const r = api.resources();
    assert.equal(r.disposed, true, 'the context the API belongs to was disposed (same module instance)');
    assert.equal(r.timers, 0, 'no timer left');
    assert.equal(r.panel, false, 'no panel object left');
    await until('the panel tab to close', () => panelTabs().length === 0, 10_000);
    await until(
      `the model process ${pid} to exit`,
      () => {
        try {
          process.kill(pid, 0);
          return false;
        } catch (e) {
          return (e as NodeJS.ErrnoException).code === 'ESRCH';
        }
      },
      10_000,
    );
    assert.equal(api.modelProcessPid(), undefined);
    const commands = (await vscode.commands.getCommands(true)).filter((c) => c.startsWith('attentionInspector.'));
    assert.deepEqual(commands, [], 'no command left registered');
    const hover = hoverText(await vscode.commands.executeCommand<vscode.Hover[]>('vscode.executeHoverProvider', doc.uri, pos));
    assert.doesNotMatch(hover, /Attention/, 'no hover provider left');
    // past the debounce: the pending re-analysis never ran (it would have started a model process again)
    await new Promise((res) => setTimeout(res, 800));
    assert.equal(api.modelProcessPid(), undefined, 'no model process started again');
    await vscode.commands.executeCommand('workbench.action.revertAndCloseActiveEditor');
  });
});
