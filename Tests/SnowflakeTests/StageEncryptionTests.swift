import Foundation
import TestSupport
import Testing

@testable import Snowflake

/// Stage files encrypted here are checked by the code that Snowflake's own Python connector
/// runs (snowflake-connector-python, installed beside fakesnow by scripts/test.sh): its
/// `SnowflakeEncryptionUtil.decrypt_stream` must give back every byte, its digest must match
/// `sfc-digest`, its `matdesc_to_unicode` must write the same material descriptor, and its
/// `encrypt_stream`, with its randomness pinned to the same file key and IV, must write the same
/// file and wrapped key.
@Suite struct StageEncryptionTests {
    static let check = #"""
        import base64, io, json, sys
        from unittest import mock
        from snowflake.connector.constants import EncryptionMetadata, MaterialDescriptor
        from snowflake.connector.encryption_util import SnowflakeEncryptionUtil, matdesc_to_unicode
        from snowflake.connector.file_util import SnowflakeFileUtil
        from snowflake.connector.storage_client import SnowflakeFileEncryptionMaterial
        failures = []
        for case in json.load(open("cases.json")):
            name = case["name"]
            plain = open(case["plain"], "rb").read()
            material = SnowflakeFileEncryptionMaterial(query_stage_master_key=case["masterKey"], query_id=case["queryId"], smk_id=int(case["smkId"]))
            metadata = EncryptionMetadata(key=case["wrappedKey"], iv=case["iv"], matdesc=case["matdesc"])
            out = io.BytesIO()
            SnowflakeEncryptionUtil.decrypt_stream(metadata, material, io.BytesIO(open(case["encrypted"], "rb").read()), out)
            if out.getvalue() != plain:
                failures.append(f"{name}: decrypted {len(out.getvalue())} bytes differ from the {len(plain)} encrypted")
            digest, size = SnowflakeFileUtil.get_digest_and_size_for_stream(io.BytesIO(plain))
            if digest != case["digest"] or size != len(plain):
                failures.append(f"{name}: digest {case['digest']} is not the connector's {digest}")
            key_bits = len(base64.b64decode(case["masterKey"])) * 8
            expected = matdesc_to_unicode(MaterialDescriptor(smk_id=int(case["smkId"]), query_id=case["queryId"], key_size=key_bits))
            if expected != case["matdesc"]:
                failures.append(f"{name}: matdesc {case['matdesc']} is not the connector's {expected}")
            # The connector encrypting the same file with the same file key and IV.
            draws = [base64.b64decode(case["fileIV"]), base64.b64decode(case["fileKey"])]
            with mock.patch.object(SnowflakeEncryptionUtil, "get_secure_random", side_effect=lambda n: draws.pop(0)):
                theirs = io.BytesIO()
                their_metadata = SnowflakeEncryptionUtil.encrypt_stream(material, io.BytesIO(plain), theirs)
            if theirs.getvalue() != open(case["pinned"], "rb").read():
                failures.append(f"{name}: the connector's encryption with the same key and IV differs")
            if their_metadata.key != case["pinnedKey"] or their_metadata.iv != case["fileIV"] or their_metadata.matdesc != case["matdesc"]:
                failures.append(f"{name}: the connector's metadata {their_metadata} differs")
        print("\n".join(failures) or "ok")
        sys.exit(1 if failures else 0)
        """#

    @Test func officialConnectorDecryptsWhatConduitEncrypts() throws {
        guard let python = ProcessInfo.processInfo.environment["CONDUIT_TEST_SNOWFLAKE_PYTHON"], !python.isEmpty else {
            Issue.record("CONDUIT_TEST_SNOWFLAKE_PYTHON is not set: run scripts/test.sh")
            return
        }
        let box = try Sandbox()
        var generator = SplitMix64(seed: 0x5EED_0022)
        // Empty, under a block, whole blocks (a whole padding block follows), the connector's
        // 64 KiB chunk edges, and a larger random file.
        let sizes = [0, 1, 15, 16, 17, 65_535, 65_536, 65_537, 200_003]
        var cases: [[String: String]] = []
        for keyBytes in [16, 32] {
            for size in sizes {
                let name = "k\(keyBytes * 8)-\(size)"
                let plain = (0..<size).map { _ in UInt8.random(in: 0...255, using: &generator) }
                let masterKey = (0..<keyBytes).map { _ in UInt8.random(in: 0...255, using: &generator) }
                let material = StageEncryptionMaterial(
                    masterKey: masterKey, queryID: "01bf-\(size)-q\"uote",
                    smkID: String(UInt32.random(in: 1...UInt32.max, using: &generator)))
                let encrypted = try StageEncryption.encrypt(plain, with: material)
                #expect(encrypted.bytes.count == (size / 16 + 1) * 16)
                let fileKey = (0..<keyBytes).map { _ in UInt8.random(in: 0...255, using: &generator) }
                let iv = (0..<16).map { _ in UInt8.random(in: 0...255, using: &generator) }
                let pinned = try StageEncryption.encrypt(plain, with: material, fileKey: fileKey, iv: iv)
                _ = try box.write(plain, to: "\(name).plain")
                _ = try box.write(encrypted.bytes, to: "\(name).enc")
                _ = try box.write(pinned.bytes, to: "\(name).pinned")
                cases.append([
                    "name": name, "plain": "\(name).plain", "encrypted": "\(name).enc", "pinned": "\(name).pinned",
                    "masterKey": Data(masterKey).base64EncodedString(), "queryId": material.queryID, "smkId": material.smkID,
                    "wrappedKey": encrypted.wrappedKey, "iv": encrypted.iv, "matdesc": encrypted.materialDescriptor,
                    "digest": StageEncryption.digest(plain), "fileKey": Data(fileKey).base64EncodedString(),
                    "fileIV": Data(iv).base64EncodedString(), "pinnedKey": pinned.wrappedKey,
                ])
            }
        }
        _ = try box.write(String(decoding: try JSONSerialization.data(withJSONObject: cases), as: UTF8.self), to: "cases.json")
        _ = try box.write(Self.check, to: "check.py")
        let result = try box.run("PYTHONDONTWRITEBYTECODE=1 \"$PYTHON\" check.py", environment: ["PYTHON": python])
        #expect(result.status == 0 && result.stdout == "ok\n", "\(result.stdout)\(result.stderr)")
    }

    /// Two encryptions of one file draw different file keys and IVs.
    @Test func everyFileGetsItsOwnKeyAndIV() throws {
        let material = StageEncryptionMaterial(masterKey: Array(repeating: 7, count: 32), queryID: "q", smkID: "1")
        let first = try StageEncryption.encrypt(Array("same file".utf8), with: material)
        let second = try StageEncryption.encrypt(Array("same file".utf8), with: material)
        #expect(first.wrappedKey != second.wrappedKey && first.iv != second.iv && first.bytes != second.bytes)
    }
}
