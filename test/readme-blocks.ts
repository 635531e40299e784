// Finds the code blocks of a Markdown document, with where they start, so a failing block
// can be named by its line and the heading above it.

export interface CodeBlock {
  /** The fence's info string: `ts`, `sh`, ... */
  lang: string;
  code: string;
  /** 1-based line of the opening fence. */
  line: number;
  /** The nearest heading above the block. */
  heading: string;
}

export function codeBlocks(markdown: string): CodeBlock[] {
  const lines = markdown.split('\n');
  const blocks: CodeBlock[] = [];
  let heading = '';
  for (let i = 0; i < lines.length; i++) {
    const h = /^#{1,6}\s+(.*)$/.exec(lines[i]!);
    if (h) heading = h[1]!.trim();
    const open = /^```(\S*)\s*$/.exec(lines[i]!);
    if (!open) continue;
    const start = i;
    const body: string[] = [];
    for (i++; i < lines.length && !/^```\s*$/.test(lines[i]!); i++) body.push(lines[i]!);
    if (i >= lines.length) throw new Error(`README line ${start + 1}: code block is never closed`);
    blocks.push({ lang: open[1]!, code: body.join('\n'), line: start + 1, heading });
  }
  return blocks;
}
