// The chat page: one room on the App's WebSocket route; new notes are announced in it too.
const log = document.getElementById('log');
const state = document.getElementById('state');
const input = document.getElementById('text');
const button = document.querySelector('#say button');
const url = new URL(log.dataset.socket, location.href);
url.protocol = location.protocol === 'https:' ? 'wss:' : 'ws:';

function line(m) {
  const li = document.createElement('li');
  const name = Object.assign(document.createElement('b'), { textContent: m.name });
  if (m.type === 'say') li.append(name, m.text);
  else if (m.type === 'note') li.append(name, `added a note: ${m.text}`);
  else li.append(name, m.type === 'enter' ? 'joined' : 'left');
  li.className = m.type === 'say' ? '' : m.type === 'note' ? 'note' : 'event';
  log.append(li);
  log.scrollTop = log.scrollHeight;
}

const ws = new WebSocket(url);
ws.onopen = () => {
  state.textContent = 'connected';
  input.disabled = button.disabled = false;
  input.focus();
};
ws.onmessage = (e) => line(JSON.parse(e.data));
ws.onclose = (e) => {
  state.textContent = `disconnected (${e.code})`;
  input.disabled = button.disabled = true;
};
document.getElementById('say').onsubmit = (e) => {
  e.preventDefault();
  if (input.value.trim()) ws.send(JSON.stringify({ text: input.value }));
  input.value = '';
};
