// The browser page's shell: takes the dropped or chosen files, hands them to the analysis worker,
// shows progress, then each report as the document it is (in a sandboxed frame, its own CSP intact)
// with a button that saves that same document. Names from files and dumps are set as text, never markup.
import AnalysisWorker from './worker.ts?worker&inline';
import type { AnalyseRequest, WorkerMessage } from './messages.js';

interface Report {
  readonly name: string;
  /** The report document, or why there is none. */
  readonly html: string | undefined;
  readonly error: string | undefined;
  readonly notes: readonly string[];
  readonly bytesRead: number;
  readonly size: number;
}

const KIND_LABELS = { dump: 'dump', sym: 'symbols', pdb: 'PDB', image: 'image' } as const;

function element<T extends HTMLElement>(id: string): T {
  const found = document.getElementById(id);
  if (!found) throw new Error(`the page has no #${id}`);
  return found as T;
}

const drop = element<HTMLElement>('drop');
const input = element<HTMLInputElement>('files');
const inputs = element<HTMLElement>('inputs');
const fileList = element<HTMLUListElement>('file-list');
const fileNotes = element<HTMLUListElement>('file-notes');
const progress = element<HTMLProgressElement>('progress');
const statusText = element<HTMLElement>('status-text');
const reportsSection = element<HTMLElement>('reports');
const tabs = element<HTMLElement>('report-tabs');
const saveButton = element<HTMLButtonElement>('save');
const reportNotes = element<HTMLUListElement>('report-notes');
const frame = element<HTMLIFrameElement>('report');

let worker: Worker | undefined;
let reports: Report[] = [];
let shown = -1;
/** The blob: URL the frame shows; a new report revokes the old one. */
let frameUrl: string | undefined;

function megabytes(bytes: number): string {
  return bytes < 1024 * 1024 ? `${Math.ceil(bytes / 1024)} KB` : `${(bytes / (1024 * 1024)).toFixed(1)} MB`;
}

/** body[data-state] and body[data-run] (how many drops so far) say where the page is, for people's styles and for tests. */
function setState(state: 'idle' | 'analysing' | 'done' | 'failed', text: string): void {
  document.body.dataset['state'] = state;
  statusText.textContent = text;
}

function listItems(list: HTMLUListElement, lines: readonly string[]): void {
  list.replaceChildren(
    ...lines.map((line) => {
      const li = document.createElement('li');
      li.textContent = line;
      return li;
    }),
  );
}

function analyse(files: readonly File[]): void {
  if (files.length === 0) return;
  // A new drop starts afresh: a worker still busy with the last one is stopped.
  worker?.terminate();
  document.body.dataset['run'] = String(Number(document.body.dataset['run'] ?? '0') + 1);
  worker = new AnalysisWorker();
  worker.addEventListener('message', (event: MessageEvent<WorkerMessage>) => received(event.data));
  worker.addEventListener('error', (event) => setState('failed', `The analysis stopped: ${event.message}`));
  reports = [];
  shown = -1;
  tabs.replaceChildren();
  reportsSection.hidden = true;
  inputs.hidden = false;
  listItems(fileNotes, []);
  fileList.replaceChildren(
    ...files.map((file) => {
      const li = document.createElement('li');
      li.textContent = `${file.name} (${megabytes(file.size)})`;
      return li;
    }),
  );
  setState('analysing', `Reading ${files.length === 1 ? 'the file' : `${files.length} files`}…`);
  const request: AnalyseRequest = { type: 'analyse', files };
  worker.postMessage(request);
}

function received(message: WorkerMessage): void {
  switch (message.type) {
    case 'files':
      fileList.replaceChildren(
        ...message.kinds.map(({ name, kind }) => {
          const li = document.createElement('li');
          const label = document.createElement('span');
          label.className = 'kind';
          label.textContent = KIND_LABELS[kind];
          li.append(label, document.createTextNode(name));
          return li;
        }),
      );
      listItems(fileNotes, message.notes);
      return;
    case 'progress':
      progress.hidden = false;
      progress.value = Math.min(1, message.bytesRead / Math.max(1, message.size));
      setState('analysing', `Analysing ${message.name}: ${megabytes(message.bytesRead)} read of ${megabytes(message.size)}`);
      return;
    case 'report':
    case 'failed':
      addReport(
        message.type === 'report'
          ? { name: message.name, html: message.html, error: undefined, notes: message.notes, bytesRead: message.bytesRead, size: message.size }
          : { name: message.name, html: undefined, error: message.message, notes: [], bytesRead: 0, size: 0 },
      );
      return;
    case 'done':
      progress.hidden = true;
      if (message.dumps === 0) setState('failed', 'None of these files is a dump: add the .dmp file itself.');
      else if (reports.every((r) => r.html === undefined)) setState('failed', reports.length === 1 ? `${reports[0]!.name}: ${reports[0]!.error}` : 'No dump could be read.');
      else setState('done', `${reports.length === 1 ? 'Report' : `${reports.length} reports`} ready (${reports.map((r) => `${r.name}: ${megabytes(r.bytesRead)} read`).join(', ')}).`);
      return;
  }
}

function addReport(report: Report): void {
  const index = reports.push(report) - 1;
  const tab = document.createElement('button');
  tab.type = 'button';
  tab.textContent = report.name;
  tab.dataset['bytesRead'] = String(report.bytesRead);
  if (report.html === undefined) tab.className = 'failed';
  tab.addEventListener('click', () => show(index));
  tabs.append(tab);
  reportsSection.hidden = false;
  if (shown < 0 || reports[shown]!.html === undefined) show(index);
}

function show(index: number): void {
  const report = reports[index]!;
  shown = index;
  for (const [i, tab] of [...tabs.children].entries()) tab.setAttribute('aria-pressed', String(i === index));
  listItems(reportNotes, report.error === undefined ? report.notes : [`${report.name}: ${report.error}`]);
  saveButton.disabled = report.html === undefined;
  if (frameUrl) URL.revokeObjectURL(frameUrl);
  frameUrl = undefined;
  if (report.html === undefined) {
    frame.removeAttribute('src');
    frame.hidden = true;
    return;
  }
  // A blob: document rather than srcdoc, whose links (#thread-3) would resolve against this page's URL;
  // sandboxed without allow-scripts (the report has none), but same-origin so those links stay in-document.
  frameUrl = URL.createObjectURL(new Blob([report.html], { type: 'text/html;charset=utf-8' }));
  frame.hidden = false;
  frame.src = frameUrl;
}

/** The report's file name: the dump's, with .html for its extension, and nothing a file system would object to. */
function reportFileName(dumpName: string): string {
  const stem = dumpName.replace(/\.[^.]*$/, '') || 'report';
  return `${stem.replace(/[^\w.-]+/g, '_')}.stackhog.html`;
}

function save(): void {
  const report = reports[shown];
  if (!report?.html) return;
  const url = URL.createObjectURL(new Blob([report.html], { type: 'text/html;charset=utf-8' }));
  const link = document.createElement('a');
  link.href = url;
  link.download = reportFileName(report.name);
  document.body.append(link);
  link.click();
  link.remove();
  // The download has its own reference to the bytes once it has started.
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

input.addEventListener('change', () => {
  analyse([...(input.files ?? [])]);
  input.value = '';
});
saveButton.addEventListener('click', save);
for (const type of ['dragenter', 'dragover'] as const) {
  document.addEventListener(type, (event) => {
    event.preventDefault();
    drop.classList.add('over');
  });
}
document.addEventListener('dragleave', (event) => {
  if (event.relatedTarget === null) drop.classList.remove('over');
});
document.addEventListener('drop', (event) => {
  event.preventDefault();
  drop.classList.remove('over');
  analyse([...(event.dataTransfer?.files ?? [])]);
});
