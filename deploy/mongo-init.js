// Makes the `mongo` service a single-node replica set `rs0` (run once by compose's mongo-init;
// running it again does nothing). A replica set is what MongoDB transactions and change streams
// need; add members later with rs.add().
try {
  const status = rs.status();
  print(`replica set ${status.set} already initiated`);
} catch (e) {
  if (e.codeName !== "NotYetInitialized") throw e;
  rs.initiate({ _id: "rs0", members: [{ _id: 0, host: "mongo:27017" }] });
  print("replica set rs0 initiated");
}
// Wait until this node is primary, so that the servers start on a writable set.
for (let i = 0; i < 60 && !db.hello().isWritablePrimary; i++) sleep(1000);
if (!db.hello().isWritablePrimary) throw new Error("rs0 has no primary after 60 s");
