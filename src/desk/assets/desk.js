// The desk's script: what a plain form cannot do. Every page works without it; with it,
// the body previews as you type, drafts save themselves, images upload with progress and
// drop in, the focal point is set by clicking, and preview links are copied.
"use strict";
(function () {
  const $ = (selector, root) => (root || document).querySelector(selector);
  const $$ = (selector, root) => Array.from((root || document).querySelectorAll(selector));
  const csrf = () => {
    const field = $('input[name="csrf"]') || $("[data-csrf]");
    return field ? field.value || field.dataset.csrf : "";
  };
  const debounce = (fn, ms) => {
    let timer;
    return (...args) => { clearTimeout(timer); timer = setTimeout(() => fn(...args), ms); };
  };
  // A JSON answer, or a rejection saying why there is none (a refused form is a page).
  const post = (url, data) => fetch(url, {
    method: "POST",
    body: new URLSearchParams(data),
    credentials: "same-origin",
    headers: { Accept: "application/json" },
  }).then((r) => {
    const json = (r.headers.get("content-type") || "").includes("json");
    if (r.ok && json) return r.json();
    return Promise.reject(new Error(r.status === 403
      ? "this page is out of date (signed out or signed in again): reload it"
      : "the server answered " + r.status));
  });

  // Invitation and reset links carry their secret after `#`: into the form, out of the URL.
  const linked = $("form[data-token-from-link]");
  const fromLink = () => {
    const token = new URLSearchParams(location.hash.slice(1)).get("token");
    if (token) {
      $('input[name="token"]', linked).value = token;
      history.replaceState(null, "", location.pathname);
    }
  };
  if (linked) {
    fromLink();
    window.addEventListener("hashchange", fromLink);
  }

  // Placeholder colours while pictures load, and focal point markers.
  const paint = (root) => {
    $$("img[data-colour]", root).forEach((img) => {
      img.style.backgroundColor = img.dataset.colour;
      if (img.dataset.placeholder) {
        img.style.backgroundImage = "url(" + img.dataset.placeholder + ")";
        img.style.backgroundSize = "cover";
      }
    });
    $$(".marker[data-left]", root).forEach((m) => { m.style.left = m.dataset.left + "%"; m.style.top = m.dataset.top + "%"; });
  };
  paint(document);

  // The focal point: a click on the picture sets it; the crops follow at once.
  const focus = (item, x, y) => {
    const fx = $("[data-focal-x]", item), fy = $("[data-focal-y]", item), marker = $(".marker", item);
    fx.value = x.toFixed(2); fy.value = y.toFixed(2);
    marker.style.left = (x * 100) + "%"; marker.style.top = (y * 100) + "%";
    $$("img[data-crop]", item).forEach((crop) => {
      crop.src = $(".thumb", item).src;
      crop.style.objectFit = "cover";
      crop.style.objectPosition = (x * 100) + "% " + (y * 100) + "%";
    });
  };
  const wireFocal = (root) => $$("li.image", root).forEach((item) => {
    const picture = $("[data-focal] img", item);
    if (!picture || !$("[data-focal-x]", item)) return;
    picture.addEventListener("click", (event) => {
      const box = picture.getBoundingClientRect();
      focus(item, Math.min(1, Math.max(0, (event.clientX - box.left) / box.width)),
        Math.min(1, Math.max(0, (event.clientY - box.top) / box.height)));
    });
    const typed = () => focus(item, Number($("[data-focal-x]", item).value) || 0, Number($("[data-focal-y]", item).value) || 0);
    $("[data-focal-x]", item).addEventListener("change", typed);
    $("[data-focal-y]", item).addEventListener("change", typed);
  });

  // Uploads: each file its own request to the API, with its progress.
  const upload = (files, library, done) => {
    const list = $(".progress", library);
    const token = library.dataset.csrf;
    let left = files.length;
    Array.from(files).forEach((file) => {
      const row = document.createElement("li");
      const bar = document.createElement("progress");
      bar.max = 100; bar.value = 0;
      bar.setAttribute("aria-label", "Uploading " + file.name);
      row.textContent = file.name + " ";
      row.appendChild(bar);
      list.appendChild(row);
      const request = new XMLHttpRequest();
      request.open("POST", "/api/v1/images");
      request.setRequestHeader("X-CSRF-Token", token);
      request.upload.addEventListener("progress", (e) => { if (e.lengthComputable) bar.value = (e.loaded / e.total) * 100; });
      request.addEventListener("loadend", () => {
        if (request.status === 201) {
          bar.value = 100;
          row.append(" uploaded");
        } else {
          let detail = "failed";
          try { detail = JSON.parse(request.responseText).detail || detail; } catch (e) { /* not JSON */ }
          row.append(" " + detail);
          row.className = "field-error";
        }
        left -= 1;
        if (left === 0) done();
      });
      const form = new FormData();
      form.append("file", file);
      request.send(form);
    });
  };
  const wireLibrary = (library, reload) => {
    paint(library);
    wireFocal(library);
    const input = $("[data-upload]", library);
    if (input) input.addEventListener("change", () => upload(input.files, library, reload));
    const drop = $("[data-drop]", library);
    if (drop) {
      drop.addEventListener("dragover", (e) => { e.preventDefault(); drop.classList.add("dragging"); });
      drop.addEventListener("dragleave", () => drop.classList.remove("dragging"));
      drop.addEventListener("drop", (e) => {
        e.preventDefault();
        drop.classList.remove("dragging");
        upload(e.dataTransfer.files, library, reload);
      });
    }
  };
  const pageLibrary = $(".library");
  if (pageLibrary && !$("#editor")) wireLibrary(pageLibrary, () => location.reload());

  // Passkeys: WebAuthn's binary fields travel as base64url in the API's JSON.
  const fromB64 = (text) => {
    const plain = text.replace(/-/g, "+").replace(/_/g, "/");
    return Uint8Array.from(atob(plain + "=".repeat((4 - (plain.length % 4)) % 4)), (c) => c.charCodeAt(0));
  };
  const toB64 = (buffer) => btoa(String.fromCharCode(...new Uint8Array(buffer)))
    .replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  const api = (url, body, token) => fetch(url, {
    method: "POST",
    credentials: "same-origin",
    headers: Object.assign({ "Content-Type": "application/json", Accept: "application/json" }, token ? { "X-CSRF-Token": token } : {}),
    body: JSON.stringify(body || {}),
  }).then((r) => r.json().catch(() => ({})).then((answer) => (r.ok ? answer : Promise.reject(new Error(answer.detail || "refused (" + r.status + ")")))));
  const passkeysWork = window.PublicKeyCredential && navigator.credentials;
  const adding = $("[data-passkey-add]");
  if (adding && passkeysWork) {
    const status = $("[data-passkey-status]", adding.parentNode);
    $("button", adding).addEventListener("click", () => {
      status.textContent = "";
      const name = $("#passkey-name").value.trim() || "Passkey";
      api("/api/v1/auth/passkeys/registrations", {}, csrf()).then((begun) => {
        const options = begun.options.publicKey;
        options.challenge = fromB64(options.challenge);
        options.user.id = fromB64(options.user.id);
        (options.excludeCredentials || []).forEach((c) => { c.id = fromB64(c.id); });
        return navigator.credentials.create({ publicKey: options }).then((made) => api("/api/v1/auth/passkeys", {
          ceremony: begun.ceremony,
          name,
          credential: {
            id: made.id, rawId: toB64(made.rawId), type: made.type,
            extensions: made.getClientExtensionResults(),
            response: {
              clientDataJSON: toB64(made.response.clientDataJSON),
              attestationObject: toB64(made.response.attestationObject),
              transports: made.response.getTransports ? made.response.getTransports() : [],
            },
          },
        }, csrf()));
      }).then(() => { location.assign("/desk/me?done=passkey"); })
        .catch((error) => { status.textContent = "No passkey was added: " + error.message; });
    });
  } else if (adding) {
    $("[data-passkey-status]", adding.parentNode).textContent = "This browser cannot make passkeys.";
    $("button", adding).disabled = true;
  }
  const signing = $("[data-passkey-sign-in]");
  if (signing && passkeysWork) {
    signing.hidden = false;
    const status = $("[data-passkey-status]", signing);
    $("button", signing).addEventListener("click", () => {
      status.textContent = "";
      api("/api/v1/auth/passkey-challenges").then((begun) => {
        const options = begun.options.publicKey;
        options.challenge = fromB64(options.challenge);
        (options.allowCredentials || []).forEach((c) => { c.id = fromB64(c.id); });
        return navigator.credentials.get({ publicKey: options }).then((used) => api("/api/v1/auth/passkey-sessions", {
          ceremony: begun.ceremony,
          credential: {
            id: used.id, rawId: toB64(used.rawId), type: used.type,
            extensions: used.getClientExtensionResults(),
            response: {
              authenticatorData: toB64(used.response.authenticatorData),
              clientDataJSON: toB64(used.response.clientDataJSON),
              signature: toB64(used.response.signature),
              userHandle: used.response.userHandle ? toB64(used.response.userHandle) : null,
            },
          },
        }));
      }).then(() => { location.assign("/desk"); })
        .catch((error) => { status.textContent = "Not signed in: " + error.message; });
    });
  }

  // A byline's picture: uploaded to the library, then chosen in the form (saved with it).
  $$("input[data-avatar-upload]").forEach((input) => input.addEventListener("change", () => {
    const form = input.form;
    const note = $("[data-avatar-status]", form);
    const file = input.files[0];
    if (!file) return;
    note.textContent = "Uploading " + file.name + "…";
    const data = new FormData();
    data.append("file", file);
    fetch("/api/v1/images", { method: "POST", body: data, credentials: "same-origin", headers: { "X-CSRF-Token": csrf() } })
      .then((r) => r.json().then((answer) => ({ ok: r.ok, answer })))
      .then(({ ok, answer }) => {
        if (!ok) { note.textContent = "Not uploaded: " + (answer.detail || "refused") + "."; return; }
        $('input[name="avatar"]', form).value = answer.id;
        const square = (answer.variants || []).find((v) => v.name === "square");
        const img = $("img.avatar", form);
        img.src = square ? square.url : answer.url;
        img.hidden = false;
        note.textContent = "Uploaded: save to use it.";
      }).catch((error) => { note.textContent = "Not uploaded: " + error.message + "."; });
  }));

  // The editor.
  const editor = $("#editor");
  if (!editor) return;
  const body = $("#body");
  const frame = $("#preview");
  const removed = $("#removed");
  const renderNow = () => {
    post("/desk/render", { csrf: csrf(), body: body.value }).then((answer) => {
      frame.srcdoc = answer.document;
      removed.textContent = "";
      const found = answer.problems.concat(answer.removed.map((r) => "Line " + r.line + ": " + r.html + " (" + r.reason + ")"));
      if (found.length) {
        const heading = document.createElement("h3");
        heading.textContent = answer.problems.length ? "Cannot be saved as it is" : "Removed by rendering";
        const list = document.createElement("ul");
        found.forEach((text) => { const li = document.createElement("li"); li.textContent = text; list.appendChild(li); });
        removed.append(heading, list);
      }
    }).catch((error) => { removed.textContent = "The preview could not be made: " + error.message + "."; });
  };
  const render = debounce(renderNow, 300);
  body.addEventListener("input", render);
  // What rendering removes from the body as saved, from the start.
  renderNow();

  // Search result and social card, as the fields are typed.
  const seo = () => {
    const title = $("#meta_title").value.trim() || $("#title").value.trim();
    $("#serp-title").textContent = title;
    $("#card-title").textContent = title;
    $("#serp-text").textContent = $("#meta_description").value.trim() || $("#excerpt").value.trim();
  };
  ["#title", "#meta_title", "#meta_description", "#excerpt"].forEach((s) => $(s).addEventListener("input", seo));

  // Autosave: a draft saves itself a few seconds after the last change. A button pressed
  // meanwhile waits for a save in flight (its version is the one to send) and cancels one
  // that has not started.
  const status = $("#autosave");
  let autosaveTimer = null;
  let inFlight = null;
  const autosaveNow = () => {
    autosaveTimer = null;
    const data = new FormData(editor);
    data.set("action", "autosave");
    inFlight = post(editor.getAttribute("action"), data).then((answer) => {
      if (answer.version) {
        $('input[name="version"]').value = answer.version;
        status.textContent = "Draft saved at " + answer.saved_at + ".";
      } else if (answer.refused === 412) {
        status.textContent = "Someone else saved this article: press Save draft to see their change beside yours.";
      } else {
        status.textContent = "Not saved: " + answer.detail;
      }
    }).catch((error) => { status.textContent = "Not saved: " + error.message + "."; })
      .finally(() => { inFlight = null; });
  };
  const autosave = () => {
    clearTimeout(autosaveTimer);
    autosaveTimer = setTimeout(autosaveNow, 4000);
  };
  if (editor.dataset.id && editor.dataset.status === "draft") {
    editor.addEventListener("input", autosave);
  }
  editor.addEventListener("submit", (event) => {
    clearTimeout(autosaveTimer);
    autosaveTimer = null;
    if (inFlight) {
      event.preventDefault();
      const button = event.submitter;
      inFlight.then(() => editor.requestSubmit(button));
    }
  });

  // The media library as a dialog: insert a figure at the cursor, or set the cover.
  const dialog = $("#library");
  const libraryBody = $("#library-body");
  let purpose = "insert";
  let cursor = 0;
  const loadLibrary = (url) => fetch(url, { credentials: "same-origin" }).then((r) => r.text()).then((html) => {
    libraryBody.innerHTML = html;
    const library = $(".library", libraryBody);
    if (library) wireLibrary(library, () => loadLibrary("/desk/media?dialog=true"));
  });
  $$("[data-open-library]").forEach((button) => button.addEventListener("click", () => {
    purpose = button.dataset.openLibrary;
    cursor = body.selectionStart;
    libraryBody.textContent = "Loading…";
    dialog.showModal();
    loadLibrary("/desk/media?dialog=true");
  }));
  $("[data-close-library]").addEventListener("click", () => dialog.close());
  libraryBody.addEventListener("submit", (event) => {
    const search = event.target.closest("[data-library-search]");
    if (search) {
      event.preventDefault();
      loadLibrary("/desk/media?" + new URLSearchParams(new FormData(search)).toString());
      return;
    }
    // An image's text saved from the dialog, which stays open.
    const form = event.target.closest("[data-image-form]");
    if (!form) return;
    event.preventDefault();
    const said = $("[data-saved]", form);
    fetch(form.getAttribute("action"), { method: "POST", body: new URLSearchParams(new FormData(form)), credentials: "same-origin" })
      .then((r) => {
        if (!r.ok) throw new Error("the server answered " + r.status);
        form.closest("li.image").dataset.alt = form.elements.alt.value;
        said.textContent = "Saved.";
      })
      .catch((error) => { said.textContent = "Not saved: " + error.message + "."; });
  });
  libraryBody.addEventListener("click", (event) => {
    const more = event.target.closest("[data-library-page]");
    if (more) { event.preventDefault(); loadLibrary(more.getAttribute("href")); return; }
    const item = event.target.closest("li.image");
    if (!item) return;
    if (event.target.matches("[data-insert]")) {
      const figure = "\n\n![" + item.dataset.alt.replace(/[\[\]]/g, "") + "](image:" + item.dataset.image + ")\n\n";
      body.value = body.value.slice(0, cursor) + figure + body.value.slice(cursor);
      body.selectionStart = body.selectionEnd = cursor + figure.length;
      dialog.close();
      body.focus();
      render();
      if (editor.dataset.status === "draft" && editor.dataset.id) autosave();
    } else if (event.target.matches("[data-cover]")) {
      $("#cover_image").value = item.dataset.image;
      for (const img of [$("#cover-preview"), $("#card-image")]) { img.src = item.dataset.thumbnail; img.hidden = false; }
      $("#cover-none").hidden = true;
      dialog.close();
    }
  });
  const clear = $("[data-clear-cover]");
  clear.addEventListener("click", () => {
    $("#cover_image").value = "";
    for (const img of [$("#cover-preview"), $("#card-image")]) img.hidden = true;
    $("#cover-none").hidden = false;
  });

  // A signed preview link, shown and copied.
  const linkButton = $("[data-preview-link]");
  if (linkButton) linkButton.addEventListener("click", () => {
    const field = $("#preview-link-url");
    const show = (text) => { field.hidden = false; field.value = text; field.select(); };
    post(linkButton.dataset.previewLink, { csrf: csrf() }).then((answer) => {
      show(answer.url || answer.detail);
      if (answer.url && navigator.clipboard) navigator.clipboard.writeText(answer.url).catch(() => {});
    }).catch((error) => show("No link: " + error.message));
  });
})();
