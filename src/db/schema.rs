// @generated shape of `diesel print-schema`; keep in step with migrations/.

diesel::table! {
    api_tokens (id) {
        id -> Uuid,
        name -> Text,
        role -> Text,
        author_id -> Nullable<Uuid>,
        secret_hash -> Bytea,
        secret_prefix -> Text,
        created_at -> Timestamptz,
        revoked_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    authors (id) {
        id -> Uuid,
        slug -> Text,
        name -> Text,
        email -> Nullable<Text>,
        bio -> Nullable<Text>,
        website -> Nullable<Text>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        avatar_image_id -> Nullable<Uuid>,
    }
}

diesel::table! {
    images (id) {
        id -> Uuid,
        sha256 -> Bytea,
        mime_type -> Text,
        width -> Int4,
        height -> Int4,
        byte_size -> Int8,
        storage_key -> Text,
        variants -> Jsonb,
        alt -> Nullable<Text>,
        caption -> Nullable<Text>,
        credit -> Nullable<Text>,
        focal_x -> Nullable<Float4>,
        focal_y -> Nullable<Float4>,
        owner_author_id -> Nullable<Uuid>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    idempotency_keys (principal, key) {
        key -> Text,
        principal -> Uuid,
        method -> Text,
        path -> Text,
        body_hash -> Bytea,
        status -> Int2,
        location -> Nullable<Text>,
        body -> Bytea,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    lede_meta (key) {
        key -> Text,
        value -> Text,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    tags (id) {
        id -> Uuid,
        slug -> Text,
        name -> Text,
        description -> Nullable<Text>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::joinable!(api_tokens -> authors (author_id));
diesel::joinable!(authors -> images (avatar_image_id));

diesel::allow_tables_to_appear_in_same_query!(
    api_tokens,
    authors,
    idempotency_keys,
    images,
    lede_meta,
    tags,
);
