import Core
import Stream
import Testing

@testable import Snowflake

@Suite struct SnowflakeStageTests {
    static func stageInfo(_ json: String) throws -> JSONValue {
        try JSONParser.parse(Array(json.utf8))
    }

    /// A batch is uploaded only where a plain PUT to a presigned URL is what the stage wants:
    /// Google Cloud Storage without client-side encryption (fakesnow's answer is of this shape).
    /// The answers have the real shape: `encryptionMaterial` beside `stageInfo` under `data`.
    @Test func uploadsOnlyToUnencryptedPresignedStages() throws {
        let plain = try Self.stageInfo(
            #"{"command":"UPLOAD","stageInfo":{"locationType":"GCS","presignedUrl":"http://localhost:8000/upload/x.csv","isClientSideEncrypted":false},"encryptionMaterial":null}"#
        )
        #expect(SnowflakeDestination.presignedUploadURL(plain) == "http://localhost:8000/upload/x.csv")
        let absent = try Self.stageInfo(
            #"{"stageInfo":{"locationType":"GCS","presignedUrl":"https://storage.googleapis.com/b/x?sig=1"}}"#)
        #expect(SnowflakeDestination.presignedUploadURL(absent) == "https://storage.googleapis.com/b/x?sig=1")
        // An internal stage that encrypts on the client: its key would be ignored, so no upload.
        let encrypted = try Self.stageInfo(
            #"{"command":"UPLOAD","stageInfo":{"locationType":"GCS","presignedUrl":"https://storage.googleapis.com/b/x","isClientSideEncrypted":true},"encryptionMaterial":{"queryStageMasterKey":"a2V5","queryId":"q","smkId":1}}"#
        )
        #expect(SnowflakeDestination.presignedUploadURL(encrypted) == nil)
        let materialOnly = try Self.stageInfo(
            #"{"stageInfo":{"locationType":"GCS","presignedUrl":"https://storage.googleapis.com/b/x"},"encryptionMaterial":[{"queryStageMasterKey":"a2V5","queryId":"q","smkId":1}]}"#
        )
        #expect(SnowflakeDestination.presignedUploadURL(materialOnly) == nil)
        let flagOnly = try Self.stageInfo(
            #"{"stageInfo":{"locationType":"GCS","presignedUrl":"https://storage.googleapis.com/b/x","isClientSideEncrypted":true}}"#
        )
        #expect(SnowflakeDestination.presignedUploadURL(flagOnly) == nil)
        let amazon = try Self.stageInfo(#"{"stageInfo":{"locationType":"S3","location":"bucket/path/","presignedUrl":null}}"#)
        #expect(SnowflakeDestination.presignedUploadURL(amazon) == nil)
        let empty = try Self.stageInfo(#"{"stageInfo":{"locationType":"GCS","presignedUrl":""}}"#)
        #expect(SnowflakeDestination.presignedUploadURL(empty) == nil)
        #expect(SnowflakeDestination.presignedUploadURL(nil) == nil)
    }

    /// The session parameters sent at login are one JSON object that pins what the loader's
    /// statements rely on.
    @Test func sessionParametersPinCaseZoneAndFormats() throws {
        let parameters = try JSONParser.parse(Array(SnowflakeSession.sessionParameters.utf8))
        #expect(parameters["AUTOCOMMIT"] == .bool(true))
        #expect(parameters["QUOTED_IDENTIFIERS_IGNORE_CASE"] == .bool(false))
        #expect(parameters["TIMEZONE"] == .string("UTC"))
        #expect(parameters["TIMESTAMP_INPUT_FORMAT"] == .string("AUTO"))
    }
}
