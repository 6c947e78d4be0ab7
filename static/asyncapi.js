// /api/asyncapi: lists the channels and messages of /api/asyncapi.json (no outside host).
"use strict";

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) node.setAttribute(key, value);
  for (const child of children) node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  return node;
}

function resolve(doc, ref) {
  return ref.replace(/^#\//, "").split("/").reduce((obj, key) => (obj ? obj[key] : undefined), doc);
}

function schemaCell(schema) {
  if (!schema) return el("td", {}, "–");
  if (schema.$ref) {
    const name = schema.$ref.split("/").pop();
    return el("td", {}, el("a", { class: "schema", href: "#schema-" + name }, name));
  }
  if (schema.type === "array" && schema.items && schema.items.$ref) {
    const name = schema.items.$ref.split("/").pop();
    return el("td", {}, "[", el("a", { class: "schema", href: "#schema-" + name }, name), "]");
  }
  return el("td", {}, el("pre", {}, JSON.stringify(schema, null, 2)));
}

function ackData(message) {
  const ok = message["x-ack"] && message["x-ack"].args && message["x-ack"].args.oneOf && message["x-ack"].args.oneOf[0];
  return ok ? ok.properties.data : undefined;
}

async function main() {
  const doc = await (await fetch("/api/asyncapi.json")).json();
  document.getElementById("title").textContent = doc.info.title;
  document.getElementById("description").textContent = doc.info.description;
  document.getElementById("version").textContent = doc.asyncapi;
  const client = document.querySelector("#client tbody");
  const server = document.querySelector("#server tbody");
  for (const [name, channel] of Object.entries(doc.channels)) {
    if (channel.publish) {
      const message = resolve(doc, channel.publish.message.$ref);
      client.append(el("tr", { id: "send-" + name },
        el("td", { class: "event" }, el("code", {}, name)), el("td", {}, channel.publish.summary || ""),
        schemaCell(message.payload), schemaCell(ackData(message))));
    }
    if (channel.subscribe) {
      const message = resolve(doc, channel.subscribe.message.$ref);
      server.append(el("tr", { id: "receive-" + name },
        el("td", { class: "event" }, el("code", {}, name)), el("td", {}, channel.subscribe.summary || ""),
        el("td", {}, (channel["x-rooms"] || []).join("; ")), schemaCell(message.payload)));
    }
  }
  const schemas = document.getElementById("schemas");
  for (const [name, schema] of Object.entries(doc.components.schemas)) {
    schemas.append(el("details", { id: "schema-" + name }, el("summary", {}, name),
      el("pre", {}, JSON.stringify(schema, null, 2))));
  }
}

main().catch((err) => {
  document.getElementById("description").textContent = "Could not load /api/asyncapi.json: " + err;
});
