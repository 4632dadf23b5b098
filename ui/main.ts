// The chariot-exec web UI: log in, write a script, run it, watch its log arrive live, type
// its input, see its progress and result, and go back to earlier runs. Served by the same
// server at `/`.
//
//   Run ──► POST /api/execute-async ──► open(id) ──► GET /api/result (status so far)
//                                                └─► openStream (the page's WebSocket, else SSE)
//   entries ──► LogView · progress ──► bar · done ──► GET /api/result ──► result or error
//   Input line ──► sendInput (the WebSocket, else POST .../input) ──► the script's input()
import { call, errorMessage, getResult, onUnauthorized, type ExecutionStatus, type ResultBody } from './api.js';
import { createEditor } from './editor.js';
import { HistoryPanel } from './history.js';
import { LogView } from './log-view.js';
import { sendInput, type InputMessage } from './input.js';
import { openStream, type LiveStream } from './stream.js';

function byId<T extends HTMLElement>(id: string): T {
  const element = document.getElementById(id);
  if (element === null) throw new Error(`#${id} is missing from index.html`);
  return element as T;
}

const ui = {
  loginView: byId<HTMLElement>('login-view'),
  loginForm: byId<HTMLFormElement>('login-form'),
  loginUsername: byId<HTMLInputElement>('login-username'),
  loginPassword: byId<HTMLInputElement>('login-password'),
  loginError: byId<HTMLElement>('login-error'),
  appView: byId<HTMLElement>('app-view'),
  whoami: byId<HTMLElement>('whoami'),
  username: byId<HTMLElement>('username'),
  logout: byId<HTMLButtonElement>('logout'),
  run: byId<HTMLButtonElement>('run'),
  cancel: byId<HTMLButtonElement>('cancel'),
  submitError: byId<HTMLElement>('submit-error'),
  status: byId<HTMLElement>('status'),
  duration: byId<HTMLElement>('duration'),
  executionId: byId<HTMLElement>('execution-id'),
  progress: byId<HTMLElement>('progress'),
  progressFill: byId<HTMLElement>('progress-fill'),
  progressMessage: byId<HTMLElement>('progress-message'),
  result: byId<HTMLElement>('result'),
  resultType: byId<HTMLElement>('result-type'),
  resultValue: byId<HTMLElement>('result-value'),
  error: byId<HTMLElement>('error'),
  errorMessage: byId<HTMLElement>('error-message'),
  historyRefresh: byId<HTMLButtonElement>('history-refresh'),
  transport: byId<HTMLElement>('transport'),
  inputForm: byId<HTMLFormElement>('input-form'),
  inputLine: byId<HTMLInputElement>('input-line'),
  inputSend: byId<HTMLButtonElement>('input-send'),
  inputEnd: byId<HTMLButtonElement>('input-end'),
  inputError: byId<HTMLElement>('input-error'),
};

const editor = createEditor(byId('editor'), () => void run());
const logView = new LogView({
  list: byId('log'),
  hiddenNotice: byId('log-hidden'),
  count: byId('log-count'),
  jump: byId('jump'),
  filter: byId('level-filter'),
});
const history = new HistoryPanel(byId('history'), (execId) => void open(execId));

let stream: LiveStream | undefined;
let current: string | undefined;
let unfinished = false;
/** The input of the execution on show was ended from this page. */
let inputEnded = false;
/** A run request is on its way: Run stays disabled until its answer. */
let submitting = false;
let signedIn = false;

function showLogin(message?: string): void {
  signedIn = false;
  forget();
  ui.appView.hidden = true;
  ui.whoami.hidden = true;
  ui.loginView.hidden = false;
  ui.loginError.hidden = message === undefined;
  ui.loginError.textContent = message ?? '';
  ui.loginUsername.focus();
}

function showApp(username: string): void {
  signedIn = true;
  ui.loginView.hidden = true;
  ui.appView.hidden = false;
  ui.whoami.hidden = false;
  ui.username.textContent = username;
  editor.focus();
  void history.refresh();
}

function setStatus(status: ExecutionStatus | 'idle'): void {
  ui.status.textContent = status;
  ui.status.dataset.status = status;
  unfinished = status === 'queued' || status === 'running';
  ui.cancel.disabled = !unfinished;
  ui.run.disabled = unfinished || submitting;
  setInputEnabled();
}

function setInputEnabled(): void {
  const open = unfinished && !inputEnded;
  ui.inputLine.disabled = !open;
  ui.inputSend.disabled = !open;
  ui.inputEnd.disabled = !open;
}

function setProgress(percent: number, message: string): void {
  ui.progress.setAttribute('aria-valuenow', String(percent));
  ui.progress.setAttribute('aria-valuetext', message === '' ? `${percent}%` : `${percent}%: ${message}`);
  ui.progressFill.style.width = `${percent}%`;
  ui.progressMessage.textContent = message === '' ? `${percent}%` : `${percent}% ${message}`;
}

/** Empties the output panel and shows `execId` (none: nothing is on show). */
function resetOutput(execId: string | undefined): void {
  stream?.close();
  stream = undefined;
  current = execId;
  inputEnded = false;
  ui.inputLine.value = '';
  ui.inputError.hidden = true;
  ui.transport.textContent = '';
  ui.executionId.textContent = execId ?? '';
  ui.duration.textContent = '';
  ui.result.hidden = true;
  ui.error.hidden = true;
  setProgress(0, '');
  logView.clear();
  history.select(execId);
}

/** After a logout or the end of a session: nothing of the last user's work stays on screen. */
function forget(): void {
  resetOutput(undefined);
  history.clear();
  setStatus('idle');
}

function showProblem(message: string): void {
  ui.errorMessage.textContent = message;
  ui.error.hidden = false;
}

function showOutcome(body: ResultBody): void {
  setStatus(body.status);
  if (typeof body.duration_ms === 'number') ui.duration.textContent = `${body.duration_ms} ms`;
  if (body.status === 'completed' && body.result !== undefined) {
    ui.resultType.textContent = `(${body.result.type})`;
    ui.resultValue.textContent = JSON.stringify(body.result.value, null, 2) ?? 'undefined';
    ui.result.hidden = false;
  } else if (body.error !== undefined) {
    showProblem(body.error);
  }
}

/**
 * Shows one execution: its status so far, then its stream (retained entries, then live).
 * The result comes with `done` (finish), so that status and result change together.
 */
async function open(execId: string): Promise<void> {
  resetOutput(execId);
  setStatus('queued');
  const res = await getResult(execId);
  if (current !== execId || res.status === 401) return;
  if (res.status === 404 || res.status === 0 || res.body === null) {
    setStatus('idle');
    showProblem(res.status === 404 ? 'This execution is no longer kept by the server.' : errorMessage(res));
    return;
  }
  if (res.body.status === 'running') setStatus('running');
  stream = openStream(execId, {
    entry: (entry) => {
      if (ui.status.dataset.status === 'queued') setStatus('running');
      logView.add(entry);
    },
    gap: (missed) => logView.gap(missed),
    progress: (percent, message) => setProgress(percent, message),
    done: (status) => void finish(execId, status),
    failed: () => void streamFailed(execId),
  }, (transport) => {
    if (current === execId) ui.transport.textContent = transport === 'websocket' ? 'live via WebSocket' : 'live via SSE';
  });
}

/** Sends one input message to the execution on show; a refusal is shown under the line. */
async function input(message: InputMessage): Promise<void> {
  const execId = current;
  if (execId === undefined || !unfinished) return;
  ui.inputError.hidden = true;
  const refused = await sendInput(execId, message);
  if (refused === undefined || current !== execId) return;
  ui.inputError.textContent = refused;
  ui.inputError.hidden = false;
}

async function finish(execId: string, status: ExecutionStatus): Promise<void> {
  const res = await getResult(execId);
  if (current !== execId || res.status === 401) return;
  if (res.body !== null && (res.status === 200 || res.status === 500)) {
    showOutcome(res.body);
  } else {
    setStatus(status);
    showProblem(res.status === 404 ? 'This execution is no longer kept by the server.' : `The result could not be read: ${errorMessage(res)}`);
  }
  await history.refresh();
}

/** The server refused the stream (EventSource gave up): a 401 brings the login back. */
async function streamFailed(execId: string): Promise<void> {
  const me = await call<{ username: string }>('GET', '/api/me');
  if (me.status === 401 || current !== execId) return;
  setStatus('idle');
  showProblem('The log stream of this execution could not be opened.');
}

async function run(): Promise<void> {
  if (unfinished || submitting) return;
  submitting = true;
  ui.run.disabled = true;
  ui.submitError.hidden = true;
  try {
    const res = await call<{ execution_id: string }>('POST', '/api/execute-async', { program: editor.text() });
    if (res.status !== 200) {
      if (res.status !== 401) {
        ui.submitError.textContent = errorMessage(res);
        ui.submitError.hidden = false;
      }
      return;
    }
    void open(res.body.execution_id);
  } finally {
    submitting = false;
    ui.run.disabled = unfinished;
  }
  await history.refresh();
}

async function cancel(): Promise<void> {
  if (current === undefined) return;
  ui.cancel.disabled = true;
  await call('POST', `/api/execution/${encodeURIComponent(current)}/cancel`);
}

onUnauthorized(() => {
  if (signedIn) showLogin('Your session has ended: log in again.');
});

ui.loginForm.addEventListener('submit', (event) => {
  event.preventDefault();
  void (async () => {
    const res = await call<{ username: string }>('POST', '/login', {
      username: ui.loginUsername.value,
      password: ui.loginPassword.value,
    });
    if (res.status === 200) {
      ui.loginPassword.value = '';
      showApp(res.body.username);
    } else {
      ui.loginError.textContent = errorMessage(res);
      ui.loginError.hidden = false;
    }
  })();
});
ui.logout.addEventListener('click', () => {
  void call('POST', '/logout').then(() => showLogin());
});
ui.run.addEventListener('click', () => void run());
ui.cancel.addEventListener('click', () => void cancel());
ui.historyRefresh.addEventListener('click', () => void history.refresh());
ui.inputForm.addEventListener('submit', (event) => {
  event.preventDefault();
  const data = ui.inputLine.value;
  ui.inputLine.value = '';
  void input({ data });
});
ui.inputEnd.addEventListener('click', () => {
  inputEnded = true;
  setInputEnabled();
  void input({ end: true });
});

setStatus('idle');
void call<{ username: string }>('GET', '/api/me').then((me) => {
  if (me.status === 200) showApp(me.body.username);
  else showLogin();
});
