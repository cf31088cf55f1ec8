/**
 * The Hugging Face export folders a user added ("Attention: Add Model…"), remembered per user in global state and
 * listed after the shipped models. They are read only (config.json and the file list here; the model process
 * loads the graph), and honoured only in trusted workspaces: a folder of someone else's files is code-like input.
 */
import * as vscode from 'vscode';
import { addedModelEntry, type CatalogueEntry } from '../core/catalogue';

const KEY = 'attentionInspector.addedModels';

export interface AddedModel {
  dir: string;
  /** Overrides config.json's training length (the SSMax what-if's N_train). */
  trainingContext?: number;
}

export class AddedModels {
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChange = this.changed.event;
  /** Folders that could not be described, by path (logged once each). */
  private readonly reported = new Set<string>();

  constructor(
    private readonly state: vscode.Memento,
    private readonly log: vscode.LogOutputChannel,
  ) {}

  private get stored(): AddedModel[] {
    const v = this.state.get<unknown>(KEY);
    return Array.isArray(v) ? v.filter((m): m is AddedModel => typeof m === 'object' && m !== null && typeof (m as AddedModel).dir === 'string') : [];
  }

  /** Catalogue entries of the added folders that can still be described; none in an untrusted workspace. */
  entries(): CatalogueEntry[] {
    if (!vscode.workspace.isTrusted) return [];
    const out: CatalogueEntry[] = [];
    for (const m of this.stored) {
      try {
        out.push(addedModelEntry(m.dir, m.trainingContext));
      } catch (e) {
        if (!this.reported.has(m.dir)) this.log.warn(`added model ${m.dir} is skipped: ${(e as Error).message}`);
        this.reported.add(m.dir);
      }
    }
    return out;
  }

  /** Validates and remembers a folder; throws the reason (naming the file) when it is not a usable export. */
  async add(dir: string, trainingContext?: number): Promise<CatalogueEntry> {
    if (!vscode.workspace.isTrusted)
      throw new Error('models you add are used only in trusted workspaces; trust this workspace first (Workspaces: Manage Workspace Trust)');
    const entry = addedModelEntry(dir, trainingContext);
    const rest = this.stored.filter((m) => m.dir !== dir);
    await this.state.update(KEY, [...rest, { dir, trainingContext }]);
    this.reported.delete(dir);
    this.changed.fire();
    return entry;
  }

  async remove(dir: string): Promise<void> {
    await this.state.update(
      KEY,
      this.stored.filter((m) => m.dir !== dir),
    );
    this.changed.fire();
  }

  /** The training-length override of a folder, if one was set. */
  trainingContextOf(dir: string): number | undefined {
    return this.stored.find((m) => m.dir === dir)?.trainingContext;
  }

  dispose(): void {
    this.changed.dispose();
  }
}
