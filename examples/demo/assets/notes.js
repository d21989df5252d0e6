// The notes page: lists, adds and deletes notes through the App's JSON API (/api/notes).
const list = document.getElementById('notes');
const error = document.getElementById('error');
const form = document.getElementById('add'); // only there when signed in
const me = list.dataset.user;
const csrf = document.querySelector('meta[name=csrf-token]')?.content;

async function call(method, url, body) {
  const res = await fetch(url, {
    method,
    body,
    headers: { accept: 'application/json', ...(csrf && { 'x-csrf-token': csrf }) },
  });
  if (!res.ok) throw new Error((await res.json().catch(() => ({}))).message || res.statusText);
  return res.status === 204 ? null : res.json();
}

function item(note) {
  const li = document.getElementById('note').content.firstElementChild.cloneNode(true);
  li.querySelector('.text').textContent = note.text;
  li.querySelector('.author').textContent = note.author ?? 'someone';
  li.querySelector('time').textContent = new Date(note.at).toLocaleString();
  if (note.file) {
    const link = li.querySelector('.file');
    link.href = note.file.url;
    if (/\.(png|jpe?g|gif|webp)$/i.test(note.file.name))
      link.append(Object.assign(document.createElement('img'), { src: note.file.url, alt: note.file.name }));
    else link.textContent = `${note.file.name} (${Math.ceil(note.file.size / 1024)} KB)`;
  }
  const del = li.querySelector('.delete');
  if (me && note.author === me)
    del.onclick = () => call('DELETE', `/api/notes/${note.id}`).then(() => li.remove(), show);
  else del.remove();
  return li;
}

function show(err) {
  error.textContent = err.message;
}
function render({ notes }) {
  list.replaceChildren(
    ...(notes.length
      ? notes.map(item)
      : [Object.assign(document.createElement('li'), { className: 'empty', textContent: 'No notes yet.' })]),
  );
}

form?.addEventListener('submit', (event) => {
  event.preventDefault();
  error.textContent = '';
  call('POST', '/api/notes', new FormData(form)).then(({ note }) => {
    list.querySelector('.empty')?.remove();
    list.prepend(item(note));
    form.reset();
  }, show);
});

call('GET', '/api/notes').then(render, show);
// The footer asks the Express service on the same port who served the page.
call('GET', '/legacy/status').then(
  (s) => {
    document.getElementById('status').textContent = `Served by ${s.server}.`;
  },
  () => {},
);
