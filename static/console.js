// /console: a small client of the REST API (/api/v1) and the Socket.IO events (see /api/asyncapi).
// Plain JS, no build step; socket.io-client is served from /static/vendor/.
"use strict";

const API = "/api/v1";
const $ = (id) => document.getElementById(id);

const state = {
  token: null,
  refreshToken: null,
  me: null,
  locale: "en",
  socket: null,
  conversations: new Map(), // id -> conversation (as GET /conversations returns it)
  current: null, // the selected conversation's id
  names: new Map(), // userId -> fullName
  typingTimer: null,
  typingSent: false,
  typingShown: new Map(), // userId -> timer that clears their "typing" line
};

// ----------------------------------------------------------------------------------- helpers

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value !== undefined && value !== null) node.setAttribute(key, value);
  }
  for (const child of children) node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  return node;
}

function newId() {
  if (window.crypto && typeof window.crypto.randomUUID === "function") return window.crypto.randomUUID();
  return "c-" + Date.now().toString(36) + "-" + Math.random().toString(36).slice(2, 10);
}

function log(direction, event, payload) {
  const line = el("li", {}, `${new Date().toLocaleTimeString()} ${direction} ${event} ${JSON.stringify(payload)}`);
  const list = $("log");
  list.prepend(line);
  while (list.children.length > 200) list.lastChild.remove();
}

function nameOf(userId) {
  if (state.me && userId === state.me.id) return "you";
  return state.names.get(userId) || userId;
}

async function api(method, path, body) {
  const headers = { "Accept-Language": state.locale };
  if (state.token) headers.Authorization = "Bearer " + state.token;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let response = await fetch(API + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  if (response.status === 401 && state.refreshToken && path !== "/auth/refresh" && (await refresh())) {
    headers.Authorization = "Bearer " + state.token;
    response = await fetch(API + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  }
  const payload = await response.json().catch(() => ({}));
  if (!response.ok) {
    const error = new Error(payload.message || `HTTP ${response.status}`);
    error.status = response.status;
    throw error;
  }
  return payload;
}

async function refresh() {
  try {
    const reply = await fetch(API + "/auth/refresh", {
      method: "POST",
      headers: { "Content-Type": "application/json", "Accept-Language": state.locale },
      body: JSON.stringify({ refreshToken: state.refreshToken }),
    });
    if (!reply.ok) return false;
    const data = (await reply.json()).data;
    state.token = data.accessToken;
    state.refreshToken = data.refreshToken;
    return true;
  } catch (err) {
    return false;
  }
}

// Emit with an ack; resolves with the ack's data or rejects with its message.
function call(event, payload) {
  log("→", event, payload);
  return new Promise((resolve, reject) => {
    state.socket.timeout(10000).emit(event, payload, (err, ack) => {
      if (err) return reject(new Error(`${event}: no answer`));
      if (!ack || !ack.success) return reject(new Error((ack && ack.message) || `${event} refused`));
      resolve(ack.data);
    });
  });
}

// ------------------------------------------------------------------------------------- login

async function login(event) {
  event.preventDefault();
  $("login-error").textContent = "";
  state.locale = $("locale").value;
  try {
    const reply = await api("POST", "/auth/login", { username: $("username").value, password: $("password").value });
    state.token = reply.data.accessToken;
    state.refreshToken = reply.data.refreshToken;
    state.me = reply.data.user;
  } catch (err) {
    $("login-error").textContent = err.message;
    return;
  }
  state.names.set(state.me.id, state.me.fullName);
  $("me-name").textContent = state.me.fullName;
  $("me-role").textContent = state.me.role;
  $("me-id").textContent = state.me.id;
  $("login-panel").hidden = true;
  $("app").hidden = false;
  connect();
  await Promise.all([loadConversations(), loadNotifications()]);
}

async function logout() {
  try {
    await api("POST", "/auth/logout", { refreshToken: state.refreshToken });
  } catch (err) {
    /* the token may be gone already */
  }
  if (state.socket) state.socket.disconnect();
  window.location.reload();
}

// ------------------------------------------------------------------------------------ socket

function setStatus(text) {
  const status = $("socket-status");
  status.textContent = text;
  status.className = "status " + (text === "connected" ? "connected" : "disconnected");
}

function connect() {
  // `auth` as a callback: every (re)connection presents the current access token.
  const socket = io({ auth: (cb) => cb({ token: state.token, locale: state.locale }) });
  state.socket = socket;
  socket.on("connect", () => {
    setStatus("connected");
    if (state.current) call("room:join", { room: "conversation:" + state.current }).catch(() => {});
  });
  socket.on("disconnect", (reason) => setStatus("disconnected"));
  socket.on("connect_error", async (err) => {
    setStatus("error: " + err.message);
    if (state.refreshToken && (await refresh())) socket.connect();
  });
  socket.onAny((event, payload) => log("←", event, payload));
  socket.on("chat:message", onMessage);
  socket.on("chat:typing", onTyping);
  socket.on("chat:read", (receipt) => log("·", "read receipt", receipt));
  socket.on("presence", onPresence);
  socket.on("notification", onNotification);
  for (const event of ["auth:expired", "auth:revoked"]) {
    socket.on(event, async () => {
      if (await refresh()) socket.connect();
    });
  }
}

// ----------------------------------------------------------------------------- conversations

function conversationTitle(conversation) {
  if (conversation.title) return conversation.title;
  const others = conversation.participants.filter((p) => !state.me || p.id !== state.me.id);
  return others.map((p) => p.fullName || p.id).join(", ") || "(just you)";
}

function remember(conversation) {
  state.conversations.set(conversation.id, conversation);
  for (const p of conversation.participants || []) if (p.fullName) state.names.set(p.id, p.fullName);
}

function renderConversations() {
  const list = $("conversations");
  list.replaceChildren();
  for (const conversation of state.conversations.values()) {
    const unread = conversation.unreadCount || 0;
    const item = el("li", { "data-id": conversation.id, class: conversation.id === state.current ? "selected" : "" },
      conversationTitle(conversation), " ",
      el("span", { class: "badge" + (unread ? "" : " zero"), "data-unread": unread }, unread));
    item.addEventListener("click", () => select(conversation.id));
    list.append(item);
  }
}

async function loadConversations() {
  const reply = await api("GET", "/conversations?size=100");
  state.conversations.clear();
  for (const conversation of reply.data) remember(conversation);
  renderConversations();
}

async function createConversation(event) {
  event.preventDefault();
  $("conversation-error").textContent = "";
  const ids = $("participant-ids").value.split(",").map((s) => s.trim()).filter(Boolean);
  const title = $("conversation-title").value.trim();
  try {
    const reply = await api("POST", "/conversations", title ? { participantIds: ids, title } : { participantIds: ids });
    remember(reply.data);
    renderConversations();
    await select(reply.data.id);
  } catch (err) {
    $("conversation-error").textContent = err.message;
  }
}

async function select(conversationId) {
  const previous = state.current;
  state.current = conversationId;
  const conversation = state.conversations.get(conversationId);
  $("chat-title").textContent = conversationTitle(conversation);
  $("messages").replaceChildren();
  $("typing").textContent = "";
  $("message-input").disabled = false;
  $("send-button").disabled = false;
  renderConversations();
  if (previous && previous !== conversationId) call("room:leave", { room: "conversation:" + previous }).catch(() => {});
  call("room:join", { room: "conversation:" + conversationId }).catch((err) => ($("chat-error").textContent = err.message));
  await Promise.all([loadHistory(conversationId), loadPresence(conversation)]);
}

// ---------------------------------------------------------------------------------- messages

function renderMessage(message) {
  if (message.conversationId !== state.current) return;
  const list = $("messages");
  if (list.querySelector(`li[data-id="${CSS.escape(message.id)}"]`)) return; // the ack and the event: once
  const mine = state.me && message.senderId === state.me.id;
  const item = el("li", { "data-id": message.id, "data-seq": message.seq, class: "message" + (mine ? " mine" : "") },
    el("div", { class: "meta" }, `#${message.seq} ${nameOf(message.senderId)} · ${new Date(message.createdAt).toLocaleTimeString()}`),
    el("div", { class: "body" }, message.body));
  const later = [...list.children].find((li) => Number(li.dataset.seq) > message.seq);
  list.insertBefore(item, later || null);
  list.scrollTop = list.scrollHeight;
}

async function loadHistory(conversationId) {
  const reply = await api("GET", `/conversations/${encodeURIComponent(conversationId)}/messages?limit=50`);
  for (const message of reply.data.slice().reverse()) renderMessage(message);
  await markRead(conversationId, reply.data.length ? reply.data[0].seq : 0);
}

async function markRead(conversationId, seq) {
  const conversation = state.conversations.get(conversationId);
  if (!seq || !conversation) return;
  try {
    const read = await call("chat:read", { conversationId, seq });
    conversation.unreadCount = read.unreadCount;
    renderConversations();
  } catch (err) {
    /* a receipt is best effort */
  }
}

function onMessage(message) {
  let conversation = state.conversations.get(message.conversationId);
  if (!conversation) {
    loadConversations(); // a conversation someone else just started with you
    return;
  }
  conversation.lastMessage = message;
  conversation.lastSeq = Math.max(conversation.lastSeq || 0, message.seq);
  if (message.conversationId === state.current) {
    renderMessage(message);
    clearTyping(message.senderId);
    if (!state.me || message.senderId !== state.me.id) markRead(message.conversationId, message.seq);
  } else if (!state.me || message.senderId !== state.me.id) {
    conversation.unreadCount = (conversation.unreadCount || 0) + 1;
    renderConversations();
  }
}

async function send(event) {
  event.preventDefault();
  const input = $("message-input");
  const body = input.value.trim();
  if (!body || !state.current) return;
  $("chat-error").textContent = "";
  stopTyping();
  try {
    const message = await call("chat:send", { conversationId: state.current, body, clientMessageId: newId() });
    input.value = "";
    renderMessage(message);
  } catch (err) {
    $("chat-error").textContent = err.message;
  }
}

// ------------------------------------------------------------------------------------ typing

function onInput() {
  if (!state.current) return;
  if (!state.typingSent) {
    state.typingSent = true;
    call("chat:typing", { conversationId: state.current, typing: true }).catch(() => {});
  }
  clearTimeout(state.typingTimer);
  state.typingTimer = setTimeout(stopTyping, 3000);
}

function stopTyping() {
  clearTimeout(state.typingTimer);
  if (state.typingSent && state.current) call("chat:typing", { conversationId: state.current, typing: false }).catch(() => {});
  state.typingSent = false;
}

function renderTyping() {
  const names = [...state.typingShown.keys()].map(nameOf);
  $("typing").textContent = names.length ? `${names.join(", ")} ${names.length > 1 ? "are" : "is"} typing…` : "";
}

function clearTyping(userId) {
  clearTimeout(state.typingShown.get(userId));
  state.typingShown.delete(userId);
  renderTyping();
}

function onTyping(event) {
  if (event.conversationId !== state.current) return;
  if (event.typing) {
    clearTimeout(state.typingShown.get(event.userId));
    state.typingShown.set(event.userId, setTimeout(() => clearTyping(event.userId), 6000));
    renderTyping();
  } else {
    clearTyping(event.userId);
  }
}

// ---------------------------------------------------------------------------------- presence

function renderParticipant(userId, online, lastSeen) {
  const list = $("participants");
  let item = list.querySelector(`li[data-user="${CSS.escape(userId)}"]`);
  if (!item) {
    item = el("li", { "data-user": userId });
    list.append(item);
  }
  item.dataset.online = online ? "true" : "false";
  item.title = online ? "online" : lastSeen ? "last seen " + new Date(lastSeen).toLocaleString() : "offline";
  item.textContent = `${nameOf(userId)} (${online ? "online" : "offline"})`;
}

async function loadPresence(conversation) {
  $("participants").replaceChildren();
  const ids = conversation.participantIds;
  for (const id of ids) renderParticipant(id, state.me && id === state.me.id, null);
  try {
    const reply = await api("GET", "/presence?userIds=" + encodeURIComponent(ids.join(",")));
    for (const [id, entry] of Object.entries(reply.data)) renderParticipant(id, entry.online, entry.lastSeen);
  } catch (err) {
    $("chat-error").textContent = err.message;
  }
}

function onPresence(change) {
  const conversation = state.current && state.conversations.get(state.current);
  if (conversation && conversation.participantIds.includes(change.userId)) {
    renderParticipant(change.userId, change.online, change.lastSeen);
  }
}

// ----------------------------------------------------------------------------- notifications

function renderNotification(notification, atTop) {
  const item = el("li", { "data-id": notification.id, class: notification.read ? "" : "unread" },
    notification.title, el("br"), el("span", { class: "when" }, notification.body));
  const list = $("notifications");
  if (atTop) list.prepend(item);
  else list.append(item);
}

function setCount(count) {
  const badge = $("notification-count");
  badge.textContent = count;
  badge.className = "badge" + (count ? "" : " zero");
}

async function loadNotifications() {
  const [listed, unread] = await Promise.all([api("GET", "/notifications?size=20"), api("GET", "/notifications/unread-count")]);
  $("notifications").replaceChildren();
  for (const notification of listed.data) renderNotification(notification, false);
  setCount(unread.data.count);
}

function onNotification(notification) {
  renderNotification(notification, true);
  setCount(Number($("notification-count").textContent) + (notification.read ? 0 : 1));
}

async function readAll() {
  await api("POST", "/notifications/read-all");
  await loadNotifications();
}

// -------------------------------------------------------------------------------------- wire

$("login-form").addEventListener("submit", login);
$("logout-button").addEventListener("click", logout);
$("new-conversation-form").addEventListener("submit", createConversation);
$("refresh-conversations").addEventListener("click", loadConversations);
$("message-form").addEventListener("submit", send);
$("message-input").addEventListener("input", onInput);
$("read-all").addEventListener("click", readAll);
