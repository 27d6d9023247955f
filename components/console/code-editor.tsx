'use client';
// The console's editor: CodeMirror 6 with Python highlighting. CodeMirror rather than Monaco
// because it is a set of small ES modules (about a tenth of Monaco's size, no web workers or
// loader to configure in Next.js), it follows the page's theme with one extension, and its
// editing surface is a contenteditable that screen readers and Playwright handle as text.
import { indentWithTab } from '@codemirror/commands';
import { python } from '@codemirror/lang-python';
import { Compartment, EditorState, Prec } from '@codemirror/state';
import { oneDark } from '@codemirror/theme-one-dark';
import { keymap } from '@codemirror/view';
import { basicSetup, EditorView } from 'codemirror';
import { useEffect, useRef } from 'react';

type CodeEditorProps = {
  initialCode: string;
  onChange: (code: string) => void;
  /** Ctrl+Enter (Cmd+Enter on a Mac). */
  onRun: () => void;
  label: string;
};

const baseTheme = EditorView.theme({
  '&': { fontSize: '13px', minHeight: '12rem', maxHeight: '28rem' },
  '.cm-scroller': { fontFamily: 'var(--font-mono)', overflow: 'auto' },
  '.cm-content': { padding: '8px 0' },
});

export function CodeEditor({ initialCode, onChange, onRun, label }: CodeEditorProps) {
  const host = useRef<HTMLDivElement>(null);
  // The editor is created once; these refs let it call the latest callbacks.
  const latest = useRef({ onChange, onRun });
  latest.current = { onChange, onRun };

  useEffect(() => {
    if (!host.current) return;
    const theme = new Compartment();
    const dark = window.matchMedia('(prefers-color-scheme: dark)');
    const view = new EditorView({
      parent: host.current,
      state: EditorState.create({
        doc: initialCode,
        extensions: [
          // Above basicSetup's own Mod-Enter (insert a blank line), so it runs the code instead.
          Prec.highest(keymap.of([{ key: 'Mod-Enter', run: () => (latest.current.onRun(), true) }])),
          basicSetup,
          // Tab indents, as Python wants; Escape then Tab leaves the editor (CodeMirror's rule).
          keymap.of([indentWithTab]),
          python(),
          baseTheme,
          theme.of(dark.matches ? oneDark : []),
          EditorView.contentAttributes.of({ 'aria-label': label }),
          EditorView.updateListener.of((update) => {
            if (update.docChanged) latest.current.onChange(update.state.doc.toString());
          }),
        ],
      }),
    });
    const followTheme = () => view.dispatch({ effects: theme.reconfigure(dark.matches ? oneDark : []) });
    dark.addEventListener('change', followTheme);
    return () => {
      dark.removeEventListener('change', followTheme);
      view.destroy();
    };
    // Created once per mount: later changes to initialCode are the editor's own edits.
  }, []);

  return (
    <div
      ref={host}
      data-testid="code-editor"
      className="min-h-48 overflow-hidden rounded-md border border-zinc-300 bg-white focus-within:ring-2 focus-within:ring-sky-500 dark:border-zinc-700 dark:bg-[#282c34]"
    />
  );
}
