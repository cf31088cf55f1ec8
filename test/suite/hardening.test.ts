/**
 * Hardening in the real extension host (docs/HARDENING.md maps each case here): which documents are analysed
 * (untitled, read-only virtual files, notebook cells; never output panes), the life cycle on the host side (typing
 * during an analysis, closing the document or the panel mid-run, two inspections, switching editors, the model
 * process dying), the panel's guard against malformed webview messages and its resource roots, and the host's
 * event loop during an analysis. Every edited document is untitled: nothing here writes a file.
 */
import * as assert from 'node:assert/strict';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import * as vscode from 'vscode';
import type { AttentionInspectorApi } from '../../src/extension';
import { activeApi, attentionHover, closeDocument, openUntitled, panelTabs, sampleText, sleep, until } from './util';

/** About 1,600 tokens of the sample: an analysis long enough (a few seconds here) to act in the middle of it. */
const MEDIUM_CHARS = 6_000;

/** A read-only file system with one file, that counts every attempt to change it. */
class ReadOnlyFs implements vscode.FileSystemProvider {
  static readonly scheme = 'attention-inspector-test-ro';
  writes = 0;
  private readonly emitter = new vscode.EventEmitter<vscode.FileChangeEvent[]>();
  readonly onDidChangeFile = this.emitter.event;
  constructor(private readonly content: Uint8Array) {}
  watch(): vscode.Disposable {
    return new vscode.Disposable(() => undefined);
  }
  stat(uri: vscode.Uri): vscode.FileStat {
    if (uri.path === '/') return { type: vscode.FileType.Directory, ctime: 0, mtime: 0, size: 0, permissions: vscode.FilePermission.Readonly };
    if (uri.path !== '/readonly.py') throw vscode.FileSystemError.FileNotFound(uri);
    return { type: vscode.FileType.File, ctime: 0, mtime: 0, size: this.content.byteLength, permissions: vscode.FilePermission.Readonly };
  }
  readDirectory(): [string, vscode.FileType][] {
    return [['readonly.py', vscode.FileType.File]];
  }
  readFile(uri: vscode.Uri): Uint8Array {
    if (uri.path !== '/readonly.py') throw vscode.FileSystemError.FileNotFound(uri);
    return this.content;
  }
  private refuse(uri: vscode.Uri): never {
    this.writes++;
    throw vscode.FileSystemError.NoPermissions(uri);
  }
  createDirectory(uri: vscode.Uri): void {
    this.refuse(uri);
  }
  writeFile(uri: vscode.Uri): void {
    this.refuse(uri);
  }
  delete(uri: vscode.Uri): void {
    this.refuse(uri);
  }
  rename(uri: vscode.Uri): void {
    this.refuse(uri);
  }
}

suite('Hardening (extension host)', () => {
  let ext: vscode.Extension<AttentionInspectorApi>;
  let api: AttentionInspectorApi;
  let text: string;
  const opened: vscode.TextDocument[] = [];

  const inspect = () => Promise.resolve(vscode.commands.executeCommand('attentionInspector.inspect'));
  const untitled = async (content: string) => {
    const r = await openUntitled(content);
    opened.push(r.doc);
    return r;
  };
  /** Waits until an analysis of `doc` is under way but not done (the moment to interfere with it). */
  const midRun = (doc: vscode.TextDocument) =>
    until(
      'the analysis to be under way',
      () => {
        const a = api.analysis(doc.uri.toString());
        if (a?.done) throw new Error('the analysis finished before the test could act in the middle of it: use a longer text');
        return !!a && a.analysed > 0;
      },
      60_000,
      10,
    );
  const settle = (p: Promise<unknown>) =>
    p.then(
      () => 'resolved',
      (e: unknown) => `rejected: ${(e as Error).message}`,
    );

  suiteSetup(async () => {
    ({ ext, api } = await activeApi());
    text = sampleText(ext);
  });

  teardown(async () => {
    for (const d of opened.splice(0)) await closeDocument(d);
  });

  suiteTeardown(async () => {
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
  });

  test('an untitled document is analysed from the editor text, and stays unchanged', async () => {
    const content = text.slice(0, 3_000);
    const { doc } = await untitled(content);
    assert.equal(doc.uri.scheme, 'untitled');
    const version = doc.version;
    await inspect();
    const a = api.analysis(doc.uri.toString());
    assert.ok(a, 'the untitled document has an analysis');
    assert.equal(a.version, doc.version);
    assert.equal(a.done, true);
    assert.ok(a.length > 100, `${a.length} tokens`);
    assert.ok((await api.modelProcessDocuments()).includes(doc.uri.toString()), 'the model process holds it');
    assert.match(await attentionHover(doc, new vscode.Position(20, 4)), /\|\s*1\s*\|/);
    assert.equal(api.panel()?.uri, doc.uri.toString(), 'the panel shows it');
    assert.equal(doc.version, version, 'not edited');
    assert.equal(doc.getText(), content, 'same text');
  });

  test('a read-only document of a virtual file system (custom scheme) is analysed, and nothing is written to it', async () => {
    const content = text.slice(0, 2_000);
    const fsp = new ReadOnlyFs(new TextEncoder().encode(content));
    const reg = vscode.workspace.registerFileSystemProvider(ReadOnlyFs.scheme, fsp, { isCaseSensitive: true, isReadonly: true });
    try {
      const doc = await vscode.workspace.openTextDocument(vscode.Uri.from({ scheme: ReadOnlyFs.scheme, path: '/readonly.py' }));
      await vscode.window.showTextDocument(doc, { viewColumn: vscode.ViewColumn.One, preview: false });
      opened.push(doc);
      await inspect();
      const a = api.analysis(doc.uri.toString());
      assert.ok(a?.done, 'the read-only document is analysed');
      assert.equal(a.version, doc.version);
      await attentionHover(doc, new vscode.Position(5, 0));
      assert.equal(fsp.writes, 0, 'no write, delete, rename or mkdir was attempted');
      assert.equal(doc.isDirty, false);
      assert.equal(doc.getText(), content);
    } finally {
      for (const d of opened.splice(0)) await closeDocument(d);
      reg.dispose();
    }
  });

  test('a notebook cell is analysed on its own (a vscode-notebook-cell document)', async () => {
    const cellText = 'import math\n\ndef area(r):\n    return math.pi * r * r\n\nprint(area(2.0))\n';
    const data = new vscode.NotebookData([
      new vscode.NotebookCellData(vscode.NotebookCellKind.Markup, '# a note', 'markdown'),
      new vscode.NotebookCellData(vscode.NotebookCellKind.Code, cellText, 'python'),
    ]);
    const nb = await vscode.workspace.openNotebookDocument('jupyter-notebook', data);
    await vscode.window.showNotebookDocument(nb, { viewColumn: vscode.ViewColumn.One });
    const cell = nb.cellAt(1).document;
    assert.equal(cell.uri.scheme, 'vscode-notebook-cell');
    assert.equal(api.isAnalysable(cell.uri.toString()), true);
    // "Inspect Attention" acts on the active text editor: the cell's editor once the cell is shown
    const editor = await vscode.window.showTextDocument(cell, { viewColumn: vscode.ViewColumn.One });
    assert.equal(editor.document.uri.toString(), cell.uri.toString(), 'the cell editor is active');
    await inspect();
    const a = api.analysis(cell.uri.toString());
    assert.ok(a?.done, 'the cell is analysed');
    assert.equal(a.version, cell.version);
    assert.equal(api.analysis(nb.cellAt(0).document.uri.toString()), undefined, 'the other cell is not (each cell is its own document)');
    await attentionHover(cell, new vscode.Position(3, 11));
    await vscode.commands.executeCommand('workbench.action.revertAndCloseActiveEditor');
  });

  test('output and log panes are not analysed (isAnalysable rejects their schemes; a real output document too)', async () => {
    for (const scheme of ['output', 'debug', 'git', 'vscode-scm', 'comment', 'walkThroughSnippet']) {
      assert.equal(api.isAnalysable(`${scheme}:/some/thing`), false, `${scheme}: not analysed`);
    }
    for (const scheme of ['file', 'untitled', 'vscode-notebook-cell', ReadOnlyFs.scheme, 'vscode-remote']) {
      assert.equal(api.isAnalysable(`${scheme}:/some/thing`), true, `${scheme}: analysed`);
    }
    // a real output pane: our own log, shown; its document (scheme output) appears in the host once shown
    await vscode.commands.executeCommand('attentionInspector.showLog');
    const out = await until('an output document', () => vscode.workspace.textDocuments.find((d) => d.uri.scheme === 'output'), 10_000).catch(() => undefined);
    if (out) assert.equal(api.isAnalysable(out.uri.toString()), false, `${out.uri.toString()} is not analysed`);
    else console.log('no output document reached the extension host; the scheme check above stands alone');
    await vscode.commands.executeCommand('workbench.action.closePanel');
  });

  test('typing continuously during an analysis: the final analysis is of the final text, and nothing older follows a newer version', async () => {
    const { doc, editor } = await untitled(text.slice(0, MEDIUM_CHARS));
    const uri = doc.uri.toString();
    const inspecting = settle(inspect());
    await midRun(doc);
    // edits at the start (nothing reusable) and at the end (prefix reused), some faster than the 400 ms debounce,
    // some slower so that re-analyses start and are then overtaken by the next edit
    const gaps = [30, 60, 450, 20, 700, 40, 40, 900, 10, 600, 30, 500, 80, 30];
    for (const [i, gap] of gaps.entries()) {
      const edit = new vscode.WorkspaceEdit();
      const at = i % 3 === 0 ? new vscode.Position(0, 0) : doc.lineAt(doc.lineCount - 1).range.end;
      edit.insert(doc.uri, at, `# typed ${i}\n`);
      assert.ok(await vscode.workspace.applyEdit(edit), `edit ${i} applied`);
      await sleep(gap);
    }
    assert.equal(await inspecting, 'resolved', 'the first inspection ends quietly when overtaken');
    await api.whenIdle(uri);
    const a = api.analysis(uri);
    assert.ok(a, 'analysed');
    assert.equal(a.version, doc.version, 'the analysis is of the final version');
    assert.equal(a.done, true);
    // the panel: versions never go back, and the last document and attention it got are the final version
    const posted = await until('the attention of the final version in the panel', () => {
      const p = api.panel()?.posted.filter((m) => m.uri === uri && m.version !== undefined);
      return p?.some((m) => m.type === 'attention' && m.version === doc.version) ? p : undefined;
    });
    for (let i = 1; i < posted.length; i++) {
      assert.ok(
        (posted[i].version ?? 0) >= (posted[i - 1].version ?? 0),
        `message ${i} (${posted[i].type} v${posted[i].version}) follows v${posted[i - 1].version}`,
      );
    }
    assert.equal(posted.filter((m) => m.type === 'document').at(-1)?.version, doc.version);
    console.log(`typing: ${gaps.length} edits, versions shown in the panel: ${[...new Set(posted.map((m) => m.version))].join(', ')}`);
    // the hover and the decorations are of the final text too
    await attentionHover(doc, new vscode.Position(doc.lineCount - 3, 0));
    assert.equal(editor.document.version, a.version);
    // and it equals a from-scratch analysis of the same text
    const { doc: fresh } = await untitled(doc.getText());
    await inspect();
    assert.equal(api.analysis(fresh.uri.toString())?.length, a.length, 'incremental and from-scratch analyses have the same tokens');
  });

  test('closing the document mid-analysis: the host and the model process forget it, and the inspect command ends quietly', async () => {
    const { doc } = await untitled(text.slice(0, MEDIUM_CHARS));
    const uri = doc.uri.toString();
    const inspecting = settle(inspect());
    await midRun(doc);
    await closeDocument(doc);
    assert.equal(await inspecting, 'resolved');
    await until('the host to forget it', () => api.analysis(uri) === undefined);
    await until('the model process to forget it', async () => !(await api.modelProcessDocuments()).includes(uri));
    // late events of the cancelled run must not bring it back
    await sleep(500);
    assert.equal(api.analysis(uri), undefined);
    assert.ok(!(await api.modelProcessDocuments()).includes(uri));
    await api.whenIdle();
    assert.equal(api.resources().timers, 0, 'no re-analysis is scheduled for it');
  });

  test('closing the panel mid-analysis: the panel goes, the analysis still completes, the next inspect opens a new panel', async () => {
    const { doc } = await untitled(text.slice(MEDIUM_CHARS, 2 * MEDIUM_CHARS));
    const uri = doc.uri.toString();
    const inspecting = settle(inspect());
    await midRun(doc);
    const tabs = panelTabs();
    assert.equal(tabs.length, 1, 'one panel');
    await vscode.window.tabGroups.close(tabs);
    await until('the panel to be disposed', () => !api.resources().panel);
    assert.equal(await inspecting, 'resolved');
    assert.equal(api.analysis(uri)?.done, true, 'the analysis went on');
    await vscode.window.showTextDocument(doc, vscode.ViewColumn.One);
    await inspect();
    assert.equal(api.panel()?.uri, uri, 'a new panel object for the document');
    // the tab model reaches the extension host a moment after the panel is created
    await until('a new panel tab', () => panelTabs().length === 1, 10_000);
    await until('the new panel to get the document', () =>
      api.panel()?.posted.some((m) => m.type === 'document' && m.uri === uri && m.version === doc.version),
    );
  });

  test('two inspections of two documents: one panel, reused and retitled for the second', async () => {
    const { doc: a } = await untitled(text.slice(0, 800));
    await inspect();
    const { doc: b } = await untitled(text.slice(800, 1_600));
    await inspect();
    const title = `Attention: ${b.uri.path.split('/').pop()}`;
    const p = api.panel();
    assert.equal(p?.uri, b.uri.toString());
    assert.equal(p?.title, title);
    // once the tab model shows the new title, there is still exactly one panel tab
    await until('the panel tab retitled', () => panelTabs().some((t) => t.label === title), 10_000);
    assert.equal(panelTabs().length, 1, 'still one panel');
    assert.notEqual(a.uri.toString(), b.uri.toString());
    await until('the panel to show the second document', () => api.panel()?.posted.some((m) => m.type === 'document' && m.uri === b.uri.toString()));
  });

  test('switching editors: the decorations follow the inspected document when it is hidden and shown again', async () => {
    const { doc: a } = await untitled(text.slice(0, 1_500));
    await inspect();
    await until('decorations drawn on the inspected document', () => api.decorationsDrawn().uri === a.uri.toString() && api.decorationsDrawn().softmax > 0);
    // another document in the same column hides it: nothing may stay drawn for it
    await untitled('other = 1\n');
    await until('decorations cleared when it is hidden', () => api.decorationsDrawn().softmax === 0);
    await vscode.window.showTextDocument(a, vscode.ViewColumn.One);
    await until('decorations drawn again when it is shown', () => api.decorationsDrawn().uri === a.uri.toString() && api.decorationsDrawn().softmax > 0);
  });

  test('malformed webview messages are counted, logged and ignored; a well-formed one is acted on', async () => {
    const { doc } = await untitled(text.slice(0, 1_000));
    await inspect();
    const uri = doc.uri.toString();
    const analysed = api.analysis(uri);
    assert.ok(analysed, 'the document is analysed');
    const length = analysed.length;
    const before = api.selection();
    assert.equal(before.uri, uri);
    const rejected0 = api.panelRejectedMessages();
    const cyclic: Record<string, unknown> = { type: 'selectToken' };
    cyclic.position = cyclic;
    const bad: unknown[] = [
      null,
      42,
      'ready',
      [],
      {},
      { type: 'nope' },
      { type: 'toString' },
      { type: 'selectToken' },
      { type: 'selectToken', position: -1 },
      { type: 'selectToken', position: 1.5 },
      { type: 'selectToken', position: '1' },
      { type: 'selectToken', position: 1, extra: true },
      { type: 'selectToken', position: 1, pad: 'x'.repeat(1_000_000) },
      { type: 'selectHead', head: { layer: '0', head: 0 } },
      { type: 'selectHead', head: { layer: 0, head: 'all' } },
      { type: 'setOverlay', on: 'yes' },
      { type: 'ready', now: true },
      cyclic,
    ];
    for (const [i, m] of bad.entries()) {
      api.receiveFromWebview(m);
      assert.equal(api.panelRejectedMessages(), rejected0 + i + 1, `message ${i} counted as rejected`);
    }
    // well-formed but out of range: ignored without counting
    api.receiveFromWebview({ type: 'selectToken', position: length + 10 });
    assert.equal(api.panelRejectedMessages(), rejected0 + bad.length);
    assert.deepEqual(api.selection(), before, 'nothing happened');
    // well-formed: acted on, not counted
    const target = before.position === 1 ? 2 : 1;
    api.receiveFromWebview({ type: 'selectToken', position: target });
    assert.equal(api.selection().position, target);
    assert.equal(api.panelRejectedMessages(), rejected0 + bad.length);
  });

  test('the webview may load only from out/ and media/ (localResourceRoots), with scripts on', async () => {
    const { doc } = await untitled('x = 1\n');
    await inspect();
    assert.equal(api.panel()?.uri, doc.uri.toString());
    const panel = api.panel();
    assert.ok(panel, 'a panel is open');
    const options = panel.options;
    assert.equal(options.enableScripts, true);
    assert.deepEqual(
      (options.localResourceRoots ?? []).map((u) => u.toString()),
      [vscode.Uri.joinPath(ext.extensionUri, 'out').toString(), vscode.Uri.joinPath(ext.extensionUri, 'media').toString()],
    );
  });

  test('the model process killed mid-analysis: the user is told, it restarts, and the document is analysed again', async () => {
    const { doc } = await untitled(text.slice(2 * MEDIUM_CHARS, 3 * MEDIUM_CHARS));
    const uri = doc.uri.toString();
    const inspecting = settle(inspect());
    await midRun(doc);
    const pid = api.modelProcessPid();
    assert.ok(pid);
    api.killModelProcess();
    assert.equal(await inspecting, 'resolved', 'the inspect command reports the failure instead of throwing');
    await until('an error message in the panel', () => api.panel()?.posted.some((m) => m.type === 'message'));
    await until('a new model process', () => api.modelProcessPid() !== undefined && api.modelProcessPid() !== pid, 60_000);
    await api.whenIdle(uri);
    await until('the document analysed again', () => api.analysis(uri)?.done && api.analysis(uri)?.version === doc.version, 90_000);
    assert.match(await attentionHover(doc, new vscode.Position(10, 0)), /\|\s*1\s*\|/, 'usable again');
  });

  test('the extension host is never blocked during an analysis (event-loop delay logged; only a generous bound asserted)', async () => {
    const { doc } = await untitled(text.slice(3 * MEDIUM_CHARS, 4 * MEDIUM_CHARS));
    const h = monitorEventLoopDelay({ resolution: 10 });
    h.enable();
    const t0 = performance.now();
    await inspect();
    const ms = performance.now() - t0;
    h.disable();
    const p = (q: number) => (h.percentile(q) / 1e6).toFixed(1);
    const max = h.max / 1e6;
    console.log(
      `event-loop delay during a ${api.analysis(doc.uri.toString())?.length}-token analysis (${(ms / 1000).toFixed(1)} s): p50 ${p(50)} ms, p99 ${p(99)} ms, max ${max.toFixed(1)} ms`,
    );
    // timed assertions are flaky on this shared 2-core machine: only a stall of seconds (the model in the host) fails
    assert.ok(max < 2_000, `the host's event loop stalled for ${max.toFixed(0)} ms`);
  });
});
