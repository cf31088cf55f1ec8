/**
 * What a person does with the extension, driven in the real extension host the way they do it: cursor moves (the
 * commands the arrow keys run), the editor context menu's command, the quick picks of Select Layer/Head and of the
 * status-bar item (navigated with the quick-open commands the arrow keys and Enter run), Show Log, settings changed
 * while the panel is open, and the progress notification's Cancel button. Each test waits on a condition with a
 * deadline, never on a pause. Every document is untitled: nothing here writes a file.
 */
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { AttentionInspectorApi } from '../../src/extension';
import { loadTokenizer } from '../../src/core/model';
import type { Tokenizer } from '../../src/core/tokenizer';
import { tokenAtOffset } from '../../src/core/tokenText';
import { headLabel, type HeadChoice } from '../../src/protocol';
import type { PostedMessage } from '../../src/vscode/panel';
import { MIN_TELLING_KEYS } from '../../src/vscode/startToken';
import { activeApi, attentionHover, closeDocument, hoverText, sampleText, until } from './util';

const SETTINGS = ['topK', 'defaultLayer', 'defaultHead', 'overlay', 'maxTokens', 'whatIf', 'model'] as const;
/** The token the cursor is put on before Inspect: far enough in to be a telling query (see startToken). */
const QUERY = 80;

const sameHead = (a: HeadChoice | undefined, b: HeadChoice) => !!a && a.layer === b.layer && a.head === b.head;

/**
 * Evaluates a when-clause (`!`, `&&`, `||`, `==`, `!=`, parentheses) against a context; a key the context does not
 * define fails the test, so a clause that needs more than a focused text editor is caught instead of guessed at.
 */
function evaluateWhen(clause: string, context: Record<string, string | boolean>): boolean {
  const tokens = clause.match(/\s*(&&|\|\||==|!=|!|\(|\)|'[^']*'|[^\s!=&|()']+)/g)?.map((t) => t.trim()) ?? [];
  let i = 0;
  const value = (key: string) => {
    if (!(key in context)) throw new Error(`the when-clause "${clause}" uses ${key}, which this test does not know for a text editor`);
    return context[key];
  };
  const literal = (t: string) => (t.startsWith("'") ? t.slice(1, -1) : t === 'true' ? true : t === 'false' ? false : t);
  const primary = (): boolean => {
    const t = tokens[i++];
    if (t === '!') return !primary();
    if (t === '(') {
      const v = or();
      assert.equal(tokens[i++], ')', `unbalanced parentheses in "${clause}"`);
      return v;
    }
    const op = tokens[i];
    if (op === '==' || op === '!=') {
      i++;
      const equal = value(t) === literal(tokens[i++]);
      return op === '==' ? equal : !equal;
    }
    return !!value(t);
  };
  const and = (): boolean => {
    let v = primary();
    while (tokens[i] === '&&') {
      i++;
      v = primary() && v;
    }
    return v;
  };
  const or = (): boolean => {
    let v = and();
    while (tokens[i] === '||') {
      i++;
      v = and() || v;
    }
    return v;
  };
  const v = or();
  assert.equal(i, tokens.length, `could not read the when-clause "${clause}"`);
  return v;
}

/** Percentages as the hover writes them ("12.3%", "4.56%"), against the values they stand for. */
function assertPercent(shown: string, value: number, what: string): void {
  const decimals = shown.split('.')[1]?.length ?? 0;
  const tolerance = 0.5 * 10 ** -decimals + 1e-9;
  assert.ok(Math.abs(Number(shown) - value * 100) <= tolerance, `${what}: the hover shows ${shown}%, the panel ${(value * 100).toFixed(4)}%`);
}

suite('User paths (extension host)', () => {
  let ext: vscode.Extension<AttentionInspectorApi>;
  let api: AttentionInspectorApi;
  let text: string;
  let tokenizer: Tokenizer;
  const opened: vscode.TextDocument[] = [];

  const cfg = () => vscode.workspace.getConfiguration('attentionInspector');
  const inspect = () => Promise.resolve(vscode.commands.executeCommand('attentionInspector.inspect'));
  /**
   * An untitled document of its own name: VS Code gives a new Untitled-1 the cursor the last one was closed with, a
   * moment after it is shown, and the query would follow that cursor away from where the test put it.
   */
  let named = 0;
  const untitled = async (content: string) => {
    const doc = await vscode.workspace.openTextDocument(vscode.Uri.from({ scheme: 'untitled', path: `user-path-${Date.now()}-${++named}.py` }));
    opened.push(doc);
    const edit = new vscode.WorkspaceEdit();
    edit.insert(doc.uri, new vscode.Position(0, 0), content);
    assert.ok(await vscode.workspace.applyEdit(edit), 'the text is put in');
    const editor = await vscode.window.showTextDocument(doc, { viewColumn: vscode.ViewColumn.One, preview: false });
    return { doc, editor };
  };
  const tokenAt = (doc: vscode.TextDocument, pos: vscode.Position) => tokenAtOffset(tokenizer.encode(doc.getText()), doc.offsetAt(pos));
  /** What the panel shows now for a document: the last attention it was sent. */
  const panelAttention = (uri: string): PostedMessage | undefined =>
    api
      .panel()
      ?.posted.filter((m) => m.type === 'attention' && m.uri === uri)
      .at(-1);
  const panelDocument = (uri: string): PostedMessage | undefined =>
    api
      .panel()
      ?.posted.filter((m) => m.type === 'document' && m.uri === uri)
      .at(-1);
  /** The selection, the panel and the editor highlights all on this query (and head). */
  const allOn = (uri: string, position: number, head = api.selection().head) => {
    const s = api.selection();
    const drawn = api.decorationsDrawn();
    const shown = panelAttention(uri);
    return (
      s.uri === uri &&
      s.position === position &&
      sameHead(s.head, head) &&
      drawn.uri === uri &&
      drawn.position === position &&
      sameHead(drawn.head, head) &&
      shown?.position === position &&
      sameHead(shown.head, head)
    );
  };
  /** What the views show, for a failure's message. */
  const views = (uri: string, editor?: vscode.TextEditor) => {
    const { type: _, uri: __, stats: ___, top, ...shown } = panelAttention(uri) ?? { type: 'none' };
    const cursor = editor && `${uri}@${tokenAt(editor.document, editor.selection.active)}`;
    return JSON.stringify({
      selection: api.selection(),
      drawn: api.decorationsDrawn(),
      panel: { ...shown, top: top?.length },
      cursor,
      analysis: api.analysis(uri),
    });
  };
  /** An untitled document, inspected with the cursor on token `query`; resolves once the views show that query. */
  const inspected = async (content: string, query = QUERY) => {
    const { doc, editor } = await untitled(content);
    const uri = doc.uri.toString();
    const p = doc.positionAt(tokenizer.encode(content).starts[query]);
    editor.selection = new vscode.Selection(p, p);
    await inspect();
    await api.whenIdle(uri);
    assert.equal(api.analysis(uri)?.done, true, 'the document is analysed');
    await until(
      () => `the selection, the panel and the highlights on token ${query} (now ${views(uri, editor)})`,
      () => allOn(uri, query),
      30_000,
    );
    return { doc, editor, uri };
  };
  /**
   * Runs a command that shows a quick pick and picks its item `next` with the commands the arrow keys and Enter run
   * (the round trip to the workbench before them makes sure the quick pick has its items before it is navigated).
   * A quick pick hides itself when the workbench moves focus while it opens (the panel a previous test closed hands
   * focus back to the editor a frame later), and resolves to nothing: that one is shown again, up to three times,
   * so the test checks the item's effect rather than the workbench's focus timing. Returns the command's result.
   */
  const pickWith = async (command: string, next: number): Promise<unknown> => {
    for (let attempt = 1; ; attempt++) {
      const picking = Promise.resolve(vscode.commands.executeCommand(command));
      await vscode.commands.getCommands(true);
      for (let n = 0; n < next; n++) await vscode.commands.executeCommand('workbench.action.quickOpenSelectNext');
      await vscode.commands.executeCommand('workbench.action.acceptSelectedQuickOpenItem');
      const picked = await picking;
      if (picked !== undefined || attempt === 3) return picked;
      console.log(`  (${command}: the quick pick closed without a pick, attempt ${attempt}; shown again)`);
      await vscode.commands.executeCommand('workbench.action.focusActiveEditorGroup');
    }
  };

  suiteSetup(async () => {
    ({ ext, api } = await activeApi());
    text = sampleText(ext);
    tokenizer = loadTokenizer(path.join(ext.extensionPath, 'models', 'ssmax.json'));
    assert.ok(QUERY + 1 >= MIN_TELLING_KEYS, 'Inspect starts on the token at the cursor');
  });

  teardown(async () => {
    await vscode.commands.executeCommand('workbench.action.closeQuickOpen');
    for (const d of opened.splice(0)) await closeDocument(d);
    // the head back to the default one for the tests after these (a head picked here stays selected otherwise)
    const m = api.model();
    if (m && api.panel()) api.receiveFromWebview({ type: 'selectHead', head: { layer: m.layers - 1, head: 'mean' } });
    for (const key of SETTINGS) if (cfg().inspect(key)?.globalValue !== undefined) await cfg().update(key, undefined, vscode.ConfigurationTarget.Global);
  });

  suiteTeardown(async () => {
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
  });

  test('moving the editor cursor (the commands the arrow keys run) moves the query: the selection, the panel and the highlights follow', async () => {
    const { doc, editor, uri } = await inspected(text.slice(0, 3_000));
    let previous = QUERY;
    // Down ×4, Down ×9, Up ×6, Ctrl+Right
    const moves: [string, unknown?][] = [
      ['cursorMove', { to: 'down', by: 'line', value: 4 }],
      ['cursorMove', { to: 'down', by: 'line', value: 9 }],
      ['cursorMove', { to: 'up', by: 'line', value: 6 }],
      ['cursorWordEndRight'],
    ];
    for (const [command, args] of moves) {
      const what = `${command} ${JSON.stringify(args ?? {})}`;
      await vscode.commands.executeCommand(command, args);
      const want = tokenAt(doc, editor.selection.active);
      assert.ok(want >= 0 && want !== previous, `${what} lands on another token (${previous} -> ${want})`);
      await until(
        () => `the query to follow the cursor (${what}) to token ${want}; now ${JSON.stringify(api.selection())}`,
        () => allOn(uri, want),
      );
      previous = want;
    }
  });

  test('the editor context menu offers "Inspect Attention" in a text editor, and its command inspects that editor', async () => {
    const pkg = ext.packageJSON as {
      contributes: { commands: { command: string; title: string }[]; menus: Record<string, { command: string; when?: string }[]> };
    };
    const item = pkg.contributes.menus['editor/context']?.find((m) => m.command === 'attentionInspector.inspect');
    assert.ok(item, 'editor/context contributes attentionInspector.inspect');
    assert.equal(pkg.contributes.commands.find((c) => c.command === item.command)?.title, 'Inspect Attention', 'the menu entry reads "Inspect Attention"');
    const { doc, editor } = await untitled(text.slice(0, 2_500));
    const uri = doc.uri.toString();
    const p = doc.positionAt(tokenizer.encode(doc.getText()).starts[QUERY]);
    editor.selection = new vscode.Selection(p, p);
    await vscode.commands.executeCommand('workbench.action.focusActiveEditorGroup');
    assert.equal(vscode.window.activeTextEditor?.document.uri.toString(), uri, 'the editor is the active one');
    // the context a right-click in this editor has (it takes the focus): its when-clause must be true there
    const context = {
      editorFocus: true,
      editorTextFocus: true,
      textInputFocus: true,
      editorIsOpen: true,
      editorReadonly: false,
      editorHasSelection: !editor.selection.isEmpty,
      editorLangId: doc.languageId,
      resourceLangId: doc.languageId,
      resourceScheme: doc.uri.scheme,
      isInDiffEditor: false,
      isInEmbeddedEditor: false,
    };
    assert.equal(item.when === undefined || evaluateWhen(item.when, context), true, `the when-clause "${item.when}" holds in a focused text editor`);
    assert.equal(api.analysis(uri), undefined, 'not analysed before');
    // what choosing the entry does: VS Code runs the command with the editor's document as its argument
    await vscode.commands.executeCommand(item.command, doc.uri);
    await api.whenIdle(uri);
    assert.equal(api.panel()?.uri, uri, 'the panel shows the document');
    // on failure, say what the panel was last told (an error message, or an analysis of another document)
    assert.equal(api.analysis(uri)?.done, true, `the document is analysed; the panel was last sent ${JSON.stringify(api.panel()?.posted.slice(-4))}`);
    await until(
      () => `the query on the token at the cursor (now ${views(uri)})`,
      () => allOn(uri, QUERY),
    );
  });

  test('a setting written back to the value in effect (here the model) keeps the model and the analysis: the model is not loaded again', async () => {
    const { uri } = await inspected(text.slice(0, 2_500));
    const loads = api.resources().modelLoads;
    assert.equal(api.model()?.id, 'ssmax');
    // the shipped default, written explicitly: the load it asks for is the one in effect (a late settings event, as
    // a file watcher delivers after the workbench wrote settings.json, used to reload and cancel running analyses)
    await cfg().update('model', 'ssmax', vscode.ConfigurationTarget.Global);
    await api.whenIdle(uri); // also waits out the debounced reload's decision
    assert.equal(api.analysis(uri)?.done, true, 'the analysis is still there');
    assert.equal(api.resources().modelLoads, loads, 'the model was not loaded again');
  });

  test('Select Layer/Head: the head picked in its quick pick is the one the panel, the hover and the highlights use', async () => {
    const { doc, editor, uri } = await inspected(text.slice(0, 2_500));
    const m = api.model();
    assert.ok(m && m.layers > 1 && m.heads > 1, 'a model with several layers and heads');
    const before = api.selection().head;
    // the picker lists layer 0 (mean, then each head), layer 1, ...: the second item is layer 0, head 0
    const want: HeadChoice = { layer: 0, head: 0 };
    assert.ok(!sameHead(before, want), `the test starts from another head (${headLabel(before)})`);
    assert.deepEqual(await pickWith('attentionInspector.selectHead', 1), want, 'the second item is picked');
    assert.deepEqual(api.selection().head, want, `the picked head is selected (now ${headLabel(api.selection().head)})`);
    await until(
      () => `the panel and the highlights on ${headLabel(want)} (now ${views(uri)})`,
      () => allOn(uri, QUERY, want),
    );
    const hover = await attentionHover(doc, editor.selection.active);
    assert.match(hover, new RegExp(`· ${headLabel(want)} ·`), 'the hover is for the picked head');
    // back to the head it started from, as a click in the panel's head dropdown does
    api.receiveFromWebview({ type: 'selectHead', head: before });
    await until(
      () => `the head it started from (now ${views(uri)})`,
      () => allOn(uri, QUERY, before),
    );
  });

  test('Show Log reveals the extension\'s output channel ("Attention Inspector")', async () => {
    const ours = (d: vscode.TextDocument) => d.uri.scheme === 'output' && decodeURIComponent(d.uri.toString()).includes('Attention Inspector');
    // an output channel's document is open in the host while the Output view shows it, and closes with the panel
    await vscode.commands.executeCommand('workbench.action.closePanel');
    await until('no document of our output channel while the panel is closed', () => !vscode.workspace.textDocuments.some(ours), 10_000);
    await vscode.commands.executeCommand('attentionInspector.showLog');
    const doc = await until(
      () => `the Attention Inspector output channel among the open documents (${vscode.workspace.textDocuments.map((d) => d.uri.toString()).join(', ')})`,
      () => vscode.workspace.textDocuments.find(ours),
      10_000,
    );
    await until('the extension log in it', () => /loading model|model .* loaded on/.test(doc.getText()), 10_000);
    await vscode.commands.executeCommand('workbench.action.closePanel');
    await vscode.commands.executeCommand('workbench.action.focusActiveEditorGroup'); // focus where the next test expects it
  });

  test("the status-bar item's click opens the extension's menu, whose items run their commands", async () => {
    const { command } = api.statusBar();
    assert.ok(command, 'the status-bar item has a command');
    assert.ok((await vscode.commands.getCommands(true)).includes(command), `${command} is registered`);
    // the first item is "Open Settings": Enter on it opens the settings editor on the extension's settings
    assert.equal(await pickWith(command, 0), 'openSettings', 'the first item, Open Settings, is picked');
    const active = () => vscode.window.tabGroups.activeTabGroup.activeTab?.label;
    const tab = await until(
      () => `the settings editor (the active tab is ${active()})`,
      () => {
        const t = vscode.window.tabGroups.activeTabGroup.activeTab;
        return t && /settings/i.test(t.label) ? t : undefined;
      },
    );
    assert.ok(tab);
    await vscode.commands.executeCommand('workbench.action.closeActiveEditor');
  });

  test('attentionInspector.topK changed with the panel open: the panel list, the highlights and the hover show that many tokens', async () => {
    const { doc, editor, uri } = await inspected(text.slice(0, 2_500));
    const shows = (k: number) => panelAttention(uri)?.top?.length === k && api.decorationsDrawn().softmax === k && allOn(uri, QUERY);
    const k0 = cfg().get<number>('topK', 10);
    await until(`${k0} tokens listed and highlighted`, () => shows(k0));
    await cfg().update('topK', 3, vscode.ConfigurationTarget.Global);
    await until(
      () => `3 tokens listed and highlighted (now ${panelAttention(uri)?.top?.length} listed, ${api.decorationsDrawn().softmax} highlighted)`,
      () => shows(3),
    );
    const rows = (await attentionHover(doc, editor.selection.active)).split('\n').filter((l) => /^\| \d+ \|/.test(l));
    assert.equal(rows.length, 3, 'the hover lists 3 tokens');
  });

  test('attentionInspector.defaultLayer/defaultHead changed with the panel open: the head changes at once, and a new inspection uses it', async () => {
    const { uri } = await inspected(text.slice(0, 2_500));
    const want: HeadChoice = { layer: 0, head: 1 };
    assert.ok(!sameHead(api.selection().head, want));
    await cfg().update('defaultLayer', 0, vscode.ConfigurationTarget.Global);
    await cfg().update('defaultHead', 1, vscode.ConfigurationTarget.Global);
    await until(
      () => `the panel and the highlights on ${headLabel(want)} (now ${views(uri)})`,
      () => allOn(uri, QUERY, want),
    );
    const second = await inspected(text.slice(2_500, 5_000));
    assert.ok(allOn(second.uri, QUERY, want), `the new inspection is on ${headLabel(want)}`);
    // back to the defaults: the last layer's mean
    const m = api.model();
    assert.ok(m);
    await cfg().update('defaultLayer', undefined, vscode.ConfigurationTarget.Global);
    await cfg().update('defaultHead', undefined, vscode.ConfigurationTarget.Global);
    await until(
      () => `the default head again (now ${views(second.uri)})`,
      () => allOn(second.uri, QUERY, { layer: m.layers - 1, head: 'mean' }),
    );
  });

  test('attentionInspector.overlay changed with the panel open: the SSMax outlines disappear and come back', async () => {
    const { uri } = await inspected(text.slice(0, 2_500));
    const outlines = (on: boolean) =>
      api.selection().overlay === on && allOn(uri, QUERY) && api.decorationsDrawn().softmax > 0 && api.decorationsDrawn().ssmax > 0 === on;
    for (const on of [false, true, false]) {
      await cfg().update('overlay', on, vscode.ConfigurationTarget.Global);
      await until(
        () => `the SSMax outlines ${on ? 'drawn' : 'gone'} (now ${JSON.stringify(api.decorationsDrawn())})`,
        () => outlines(on),
      );
    }
    await cfg().update('overlay', undefined, vscode.ConfigurationTarget.Global);
    await until('the overlay on again (the default)', () => outlines(true));
  });

  test('attentionInspector.maxTokens changed with the panel open: the analysis is capped, the panel says so, and raising it analyses the rest', async () => {
    const { uri } = await inspected(text.slice(0, 4_000));
    const full = api.analysis(uri)?.length ?? 0;
    assert.ok(full > 200, `${full} tokens`);
    await cfg().update('maxTokens', 100, vscode.ConfigurationTarget.Global);
    const capped = () => {
      const a = api.analysis(uri);
      const d = panelDocument(uri);
      // the panel's cap note: "Analysed the first 100 of <about the whole document's> tokens"
      return a?.done && a.length === 100 && d?.tokens === 100 && d.totalTokens !== undefined && d.totalTokens > 100;
    };
    await until(
      () => `the analysis capped at 100 tokens, and the cap in the panel (now ${JSON.stringify(api.analysis(uri))}, ${JSON.stringify(panelDocument(uri))})`,
      capped,
      60_000,
    );
    await until(
      () => `the query (within the cap) shown again (now ${views(uri)})`,
      () => allOn(uri, QUERY),
    );
    await cfg().update('maxTokens', undefined, vscode.ConfigurationTarget.Global);
    await until(
      'the whole document analysed again, and no cap in the panel',
      () => {
        const a = api.analysis(uri);
        const d = panelDocument(uri);
        return a?.done && a.length === full && d?.tokens === full && d.totalTokens === full;
      },
      60_000,
    );
  });

  test("Inspect with the cursor past the token cap says which token it is, and its button raises maxTokens so that the cursor's token is analysed", async () => {
    await inspected(text.slice(0, 2_500)); // the model loaded first: its one-time message is not the notification below
    await cfg().update('maxTokens', 200, vscode.ConfigurationTarget.Global);
    const { doc, editor } = await untitled(text.slice(0, 5_000));
    const uri = doc.uri.toString();
    const end = doc.positionAt(doc.getText().length - 10);
    editor.selection = new vscode.Selection(end, end);
    await vscode.commands.executeCommand('notifications.clearAll');
    await inspect();
    await api.whenIdle(uri);
    const capped = api.analysis(uri);
    assert.equal(capped?.length, 200, 'capped at 200 tokens');
    const cursorToken = tokenAt(doc, end);
    assert.ok(cursorToken > 200, `the cursor is past the cap (token ${cursorToken})`);
    // the message's button ("Raise maxTokens to …"), the only notification left once the progress has closed
    await until(
      () => `maxTokens raised by the message's button (now ${String(cfg().get('maxTokens'))})`,
      async () => {
        await vscode.commands.executeCommand('notification.acceptPrimaryAction');
        return (cfg().get<number>('maxTokens') ?? 0) > cursorToken;
      },
      30_000,
    );
    await until(
      () => `the cursor's token analysed (now ${JSON.stringify(api.analysis(uri))})`,
      () => {
        const a = api.analysis(uri);
        return !!a?.done && a.analysed > cursorToken;
      },
      90_000,
    );
  });

  test('Cancel on the progress notification stops the analysis; the extension stays usable, and the next Inspect analyses it all', async () => {
    // the model loaded first (with the one-time message a first load may show): notification.acceptPrimaryAction takes
    // the focused notification or the first one, so the progress notification must be the only one (run alone, this
    // test cancelled nothing before)
    await inspected(text.slice(0, 2_500));
    const { doc } = await untitled(text.slice(0, 9_000));
    const uri = doc.uri.toString();
    await vscode.commands.executeCommand('notifications.clearAll');
    const cancels = api.engineRequests().cancel ?? 0;
    const inspecting = inspect().then(
      () => 'resolved',
      (e: unknown) => `rejected: ${(e as Error).message}`,
    );
    await until(
      'the analysis to be under way',
      () => {
        const a = api.analysis(uri);
        if (a?.done) throw new Error('the analysis finished before the test could cancel it: use a longer text');
        return !!a && a.analysed > 0;
      },
      60_000,
      10,
    );
    // the notification's Cancel button: its only action, which this command (Ctrl+Shift+A in a notification) runs
    await vscode.commands.executeCommand('notification.acceptPrimaryAction');
    assert.equal(await inspecting, 'resolved', 'the command ends quietly');
    await api.whenIdle(uri);
    const a = api.analysis(uri);
    assert.equal(api.engineRequests().cancel, cancels + 1, 'the model process was told to stop');
    assert.ok(a && !a.done && a.analysed < a.length, `stopped short (${JSON.stringify(a)})`);
    assert.ok(
      api.panel()?.posted.some((m) => m.type === 'message' && new RegExp(`^Analysis cancelled after ${a.analysed} of ${a.length} tokens`).test(m.text ?? '')),
      'the panel says where it stopped',
    );
    await until(
      () => `the status bar not to show it as running (now "${api.statusBar().text}")`,
      () => api.statusBar().text.includes(`stopped at ${a.analysed}/${a.length}`),
    );
    await until('the panel to stop its spinner', () => {
      const last = api
        .panel()
        ?.posted.filter((m) => m.type === 'progress' && m.uri === uri)
        .at(-1);
      return last?.done === false && last.running === false;
    });
    // usable: an analysed token's hover, and Inspect again
    assert.match(hoverText(await vscode.commands.executeCommand<vscode.Hover[]>('vscode.executeHoverProvider', doc.uri, doc.positionAt(0))), /\|\s*1\s*\|/);
    await inspect();
    await api.whenIdle(uri);
    const done = api.analysis(uri);
    assert.ok(done?.done && done.analysed === done.length, 'the next Inspect analyses the whole document');
    assert.doesNotMatch(api.statusBar().text, /stopped|sync~spin/);
  });

  test("Choose What-If Scaling Law from the palette: the softmax model's what-if view, its statistics and the hover follow the law picked", async () => {
    await cfg().update('model', 'softmax', vscode.ConfigurationTarget.Global);
    try {
      await whatIfPicked();
    } finally {
      // back to the defaults here, one reload at a time, so that no reload is still clearing analyses when the next
      // test inspects (teardown's reset would leave both running)
      await cfg().update('whatIf', undefined, vscode.ConfigurationTarget.Global);
      await until('the default law back', () => api.model()?.whatIf?.label === 'SSMax', 90_000);
      await cfg().update('model', undefined, vscode.ConfigurationTarget.Global);
      await until('the default model back', () => api.model()?.id === 'ssmax', 90_000);
      await api.whenIdle();
    }
  });

  const whatIfPicked = async () => {
    await until('the softmax-trained model loaded', () => api.model()?.id === 'softmax', 60_000);
    const { doc, editor, uri } = await inspected(text.slice(0, 2_500));
    // at n = QUERY + 1 <= 512 the default what-if (SSMax, c = ln n / ln 512 < 1) is flatter than softmax; Qwen's log-n
    // is 1 below the training length, so there the what-if must equal the model's own softmax exactly
    const stats = () => panelAttention(uri)?.stats;
    const before = stats();
    assert.ok(before && Math.abs(before.softmax.maxWeight - before.ssmax.maxWeight) > 1e-4, `SSMax differs from softmax at n = ${QUERY + 1}`);
    await pickWith('attentionInspector.chooseWhatIf', 2); // SSMax, SSMax s=…, Qwen log-n, Llama 4
    await until(
      () =>
        `the law set, the model reloaded with it and the panel on the query again (now ${String(cfg().get('whatIf'))}, ${JSON.stringify(api.model()?.whatIf)}, ${views(uri)})`,
      () => cfg().get('whatIf') === 'qwen-logn' && api.model()?.whatIf?.label === 'Qwen log-n' && allOn(uri, QUERY) && panelAttention(uri)?.stats !== before,
      90_000,
    );
    const after = stats();
    assert.ok(after);
    assert.ok(Math.abs(after.softmax.maxWeight - after.ssmax.maxWeight) < 1e-6, `Qwen log-n equals softmax below N: ${JSON.stringify(after)}`);
    assert.ok(Math.abs(after.softmax.entropy - after.ssmax.entropy) < 1e-5);
    const hover = await attentionHover(doc, editor.selection.active);
    assert.match(hover, /max weight: softmax [\d.]+% · Qwen log-n [\d.]+%/, 'the hover names the law');
    assert.equal(panelDocument(uri)?.whatIfFormula, 'softmax(max(1, ln n / ln 512)·z)', "the panel is told the law's formula");
  };

  test("the hover's numbers are the panel's for the same token and head (max weight, and each listed token's weights)", async () => {
    const { doc, editor, uri } = await inspected(text.slice(0, 2_500));
    const m = api.model();
    assert.ok(m);
    for (const head of [api.selection().head, { layer: 1, head: m.heads - 1 }] as HeadChoice[]) {
      api.receiveFromWebview({ type: 'selectHead', head }); // as the panel's head dropdown does
      await until(
        () => `the views on ${headLabel(head)} (now ${views(uri)})`,
        () => allOn(uri, QUERY, head),
      );
      const shown = panelAttention(uri);
      assert.ok(shown?.stats && shown.top && shown.top.length > 0);
      const hover = await attentionHover(doc, editor.selection.active);
      assert.match(hover, new RegExp(`position n = ${QUERY + 1} · ${headLabel(head)} ·`));
      const max = /max weight: softmax ([\d.]+)% · SSMax ([\d.]+)%/.exec(hover);
      assert.ok(max, 'the hover shows the max weights');
      assertPercent(max[1], shown.stats.softmax.maxWeight, `${headLabel(head)} softmax max weight`);
      assertPercent(max[2], shown.stats.ssmax.maxWeight, `${headLabel(head)} SSMax max weight`);
      const rows = hover.split('\n').flatMap((l) => {
        const r = /^\| (\d+) \| .* \| \d+ \| ([\d.]+)% \| ([\d.]+)% \|$/.exec(l);
        return r ? [r] : [];
      });
      assert.equal(rows.length, Math.min(8, shown.top.length), 'the hover lists the panel’s top tokens (at most 8)');
      for (const r of rows) {
        const t = shown.top[Number(r[1]) - 1];
        assertPercent(r[2], t.softmax, `${headLabel(head)} rank ${r[1]} softmax`);
        assertPercent(r[3], t.ssmax, `${headLabel(head)} rank ${r[1]} SSMax`);
      }
    }
  });
});
