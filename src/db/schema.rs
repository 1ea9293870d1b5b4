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
        user_id -> Nullable<Uuid>,
    }
}

diesel::table! {
    article_notes (id) {
        id -> Uuid,
        article_id -> Uuid,
        body -> Text,
        actor -> Jsonb,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    article_images (article_id, image_id) {
        article_id -> Uuid,
        image_id -> Uuid,
    }
}

diesel::table! {
    article_old_slugs (slug) {
        slug -> Text,
        article_id -> Uuid,
    }
}

diesel::table! {
    article_revisions (article_id, version) {
        article_id -> Uuid,
        version -> Int4,
        title -> Text,
        subtitle -> Nullable<Text>,
        excerpt_given -> Nullable<Text>,
        body_markdown -> Text,
        status -> Text,
        published_at -> Nullable<Timestamptz>,
        author_id -> Uuid,
        cover_image_id -> Nullable<Uuid>,
        tag_ids -> Jsonb,
        comments_open -> Bool,
        slug -> Text,
        saved_by -> Nullable<Uuid>,
        created_at -> Timestamptz,
        meta_title -> Nullable<Text>,
        meta_description -> Nullable<Text>,
        saved_by_user -> Nullable<Uuid>,
    }
}

diesel::table! {
    article_tags (article_id, tag_id) {
        article_id -> Uuid,
        tag_id -> Uuid,
        position -> Int2,
    }
}

// `search` (tsvector) is left out: only SQL text reads it.
diesel::table! {
    articles (id) {
        id -> Uuid,
        slug -> Text,
        title -> Text,
        subtitle -> Nullable<Text>,
        excerpt_given -> Nullable<Text>,
        excerpt -> Text,
        body_markdown -> Text,
        body_html -> Text,
        body_text -> Text,
        toc -> Jsonb,
        word_count -> Int4,
        reading_time_minutes -> Int4,
        status -> Text,
        published_at -> Nullable<Timestamptz>,
        author_id -> Uuid,
        cover_image_id -> Nullable<Uuid>,
        comments_open -> Bool,
        version -> Int4,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        search_language -> crate::db::Regconfig,
        sort_at -> Timestamptz,
        external_id -> Nullable<Text>,
        kind -> Text,
        meta_title -> Nullable<Text>,
        meta_description -> Nullable<Text>,
    }
}

diesel::table! {
    passkey_ceremonies (id) {
        id -> Uuid,
        user_id -> Nullable<Uuid>,
        purpose -> Text,
        state -> Jsonb,
        expires_at -> Timestamptz,
    }
}

diesel::table! {
    passkeys (id) {
        id -> Uuid,
        user_id -> Uuid,
        credential_id -> Bytea,
        name -> Text,
        credential -> Jsonb,
        created_at -> Timestamptz,
        last_used_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    preview_links (id) {
        id -> Uuid,
        article_id -> Uuid,
        expires_at -> Timestamptz,
        created_by -> Nullable<Uuid>,
        created_at -> Timestamptz,
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
        placeholder -> Nullable<Text>,
        dominant_color -> Nullable<Text>,
    }
}

diesel::table! {
    changes (id) {
        id -> Int8,
        resource -> Text,
        resource_id -> Nullable<Uuid>,
        event -> Text,
        keys -> Array<Text>,
        created_at -> Timestamptz,
        actor -> Nullable<Jsonb>,
    }
}

diesel::table! {
    comments (id) {
        id -> Uuid,
        article_id -> Uuid,
        parent_id -> Nullable<Uuid>,
        author_name -> Text,
        author_email -> Text,
        author_url -> Nullable<Text>,
        body_markdown -> Text,
        body_html -> Text,
        status -> Text,
        ip -> Text,
        user_agent -> Nullable<Text>,
        deleted_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        staff -> Bool,
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
        etag -> Nullable<Text>,
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
    settings (name) {
        name -> Text,
        value -> Jsonb,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    tag_old_slugs (slug) {
        slug -> Text,
        tag_id -> Uuid,
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

diesel::table! {
    users (id) {
        id -> Uuid,
        email -> Text,
        name -> Text,
        role -> Text,
        author_id -> Nullable<Uuid>,
        status -> Text,
        password_hash -> Nullable<Text>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        last_seen_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    user_links (secret_hash) {
        secret_hash -> Bytea,
        user_id -> Uuid,
        purpose -> Text,
        expires_at -> Timestamptz,
        used_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    sessions (id) {
        id -> Uuid,
        secret_hash -> Bytea,
        user_id -> Uuid,
        csrf_token -> Text,
        created_at -> Timestamptz,
        last_used_at -> Timestamptz,
        expires_at -> Timestamptz,
        ended_at -> Nullable<Timestamptz>,
    }
}

diesel::joinable!(api_tokens -> authors (author_id));
diesel::joinable!(api_tokens -> users (user_id));
diesel::joinable!(article_notes -> articles (article_id));
diesel::joinable!(users -> authors (author_id));
diesel::joinable!(user_links -> users (user_id));
diesel::joinable!(sessions -> users (user_id));
diesel::joinable!(article_images -> articles (article_id));
diesel::joinable!(article_images -> images (image_id));
diesel::joinable!(article_old_slugs -> articles (article_id));
diesel::joinable!(tag_old_slugs -> tags (tag_id));
diesel::joinable!(passkeys -> users (user_id));
diesel::joinable!(passkey_ceremonies -> users (user_id));
diesel::joinable!(article_revisions -> articles (article_id));
diesel::joinable!(article_tags -> articles (article_id));
diesel::joinable!(article_tags -> tags (tag_id));
diesel::joinable!(articles -> authors (author_id));
diesel::joinable!(comments -> articles (article_id));
diesel::joinable!(authors -> images (avatar_image_id));
diesel::joinable!(preview_links -> articles (article_id));

diesel::table! {
    webhooks (id) {
        id -> Uuid,
        url -> Text,
        events -> Array<Text>,
        description -> Nullable<Text>,
        enabled -> Bool,
        disabled_reason -> Nullable<Text>,
        secret -> Text,
        retired_secrets -> Jsonb,
        failing_since -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    webhook_deliveries (id) {
        id -> Uuid,
        seq -> Int8,
        webhook_id -> Uuid,
        message_id -> Text,
        event_type -> Text,
        body -> Text,
        state -> Text,
        attempts -> Int4,
        next_attempt_at -> Timestamptz,
        locked_until -> Nullable<Timestamptz>,
        locked_by -> Nullable<Text>,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    webhook_attempts (id) {
        id -> Uuid,
        delivery_id -> Uuid,
        webhook_id -> Uuid,
        attempt -> Int4,
        response_status -> Nullable<Int4>,
        duration_ms -> Int4,
        error -> Nullable<Text>,
        next_attempt_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
    }
}

diesel::joinable!(webhook_attempts -> webhook_deliveries (delivery_id));

diesel::allow_tables_to_appear_in_same_query!(
    api_tokens,
    article_images,
    article_notes,
    article_old_slugs,
    article_revisions,
    article_tags,
    passkey_ceremonies,
    passkeys,
    preview_links,
    articles,
    authors,
    changes,
    comments,
    idempotency_keys,
    images,
    lede_meta,
    sessions,
    settings,
    tag_old_slugs,
    tags,
    user_links,
    users,
    webhook_attempts,
    webhook_deliveries,
    webhooks,
);
