const list = document.getElementById('notes');
const error = document.getElementById('error');

async function call(method, url, body) {
  const res = await fetch(url, {
    method,
    headers: { accept: 'application/json', ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  if (!res.ok) throw new Error((await res.json().catch(() => ({}))).message || res.statusText);
  return res.status === 204 ? null : res.json();
}

function render(notes) {
  list.replaceChildren(...notes.map((note) => {
    const li = document.createElement('li');
    const text = document.createElement('span');
    text.textContent = note.text;
    const when = document.createElement('time');
    when.textContent = new Date(note.at).toLocaleString();
    text.append(when);
    const del = document.createElement('button');
    del.textContent = 'Delete';
    del.onclick = () => call('DELETE', `/api/notes/${note.id}`).then(load, show);
    li.append(text, del);
    return li;
  }));
}

function show(err) { error.textContent = err.message; }
function load() { error.textContent = ''; return call('GET', '/api/notes').then(render, show); }

document.getElementById('add').addEventListener('submit', (event) => {
  event.preventDefault();
  const input = document.getElementById('text');
  call('POST', '/api/notes', { text: input.value }).then(() => { input.value = ''; return load(); }, show);
});

call('GET', '/api/status').then((s) => { document.getElementById('status').textContent = `Served by ${s.server}`; }, () => {});
load();
