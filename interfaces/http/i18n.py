"""User-facing error titles in English and French, chosen by Accept-Language."""

from __future__ import annotations

TITLES: dict[str, dict[str, str]] = {
    "en": {
        "bad_request": "Malformed request",
        "validation_failed": "Invalid request body or parameters",
        "unauthorized": "Authentication required",
        "authentication_failed": "Invalid email or password",
        "forbidden": "Not allowed",
        "not_found": "Not found",
        "method_not_allowed": "Method not allowed",
        "conflict": "Conflict with the current state",
        "illegal_transition": "Action not allowed in the ticket's current status",
        "queue_not_accepting": "The queue is not accepting tickets",
        "queue_conflict": "Action not allowed in the queue's current state",
        "agent_conflict": "Action not allowed in the agent's current state",
        "user_conflict": "Action not allowed in the user's current state",
        "last_admin": "The tenant must keep an active admin",
        "not_permitted": "You cannot grant rights you do not hold",
        "server_owned_field": "This field is set by the server",
        "agent_unavailable": "The agent is not available",
        "agent_busy": "The agent already holds a ticket",
        "duplicate": "Already exists",
        "contention": "Too many simultaneous changes; try again",
        "invalid_input": "Invalid input",
        "tenant_mismatch": "X-Tenant header does not match the path",
        "unsupported_media_type": "Unsupported media type",
        "too_many_requests": "Too many requests",
        "too_many_attempts": "Too many sign-in attempts; try again later",
        "internal_error": "Internal error",
        "unavailable": "Service unavailable",
        "read_model_behind": "The data asked for is not ready yet; try again",
        "invalid_idempotency_key": "Invalid Idempotency-Key header",
        "idempotency_key_reused": "Idempotency-Key already used for another request",
        "idempotency_key_in_flight": "A request with this Idempotency-Key is still in progress",
        "idempotency_key_applied": "The request with this Idempotency-Key was already applied",
        "device_authentication_failed": "Invalid device id or secret",
        "device_conflict": "Action not allowed in the device's current state",
        "device_revoked": "The device was revoked",
        "wrong_site": "This device may only act on its own site",
        "site_closed": "The site is closed now",
        "more_time_used": "More time was already given to this ticket",
        "queue_full": "The queue is full; try again later",
        "join_code_required": "This site needs the code sent to your phone",
        "join_code_invalid": "The code is wrong, expired or already used",
        "join_code_locked": "Too many wrong codes; ask for a new one",
        "join_code_off": "This site needs no code to join",
        "slot_full": "Every place of this slot is taken",
        "too_late_to_book": "This slot can no longer be booked",
        "beyond_horizon": "This day cannot be booked yet",
        "outside_opening_hours": "The site is not open at that time",
        "customer_limit": "The customer already has the most appointments allowed that day",
        "too_late_to_cancel": "This appointment can no longer be cancelled or moved",
        "appointment_closed": "This appointment is closed (cancelled, checked in or missed)",
        "too_early": "Check-in for this appointment is not open yet",
        "already_checked_in": "This appointment is already checked in",
        "no_queue_for_service": "No open queue of this site serves this appointment",
        "hold_expired": "The place was no longer held; choose a slot again",
        "hold_not_found": "No such hold; it may have expired",
        "hold_still_live": "The hold has not expired yet",
    },
    "fr": {
        "bad_request": "Requête mal formée",
        "validation_failed": "Corps ou paramètres de la requête invalides",
        "unauthorized": "Authentification requise",
        "authentication_failed": "E-mail ou mot de passe incorrect",
        "forbidden": "Action non autorisée",
        "not_found": "Introuvable",
        "method_not_allowed": "Méthode non autorisée",
        "conflict": "Conflit avec l'état actuel",
        "illegal_transition": "Action impossible dans l'état actuel du ticket",
        "queue_not_accepting": "La file n'accepte pas de tickets",
        "queue_conflict": "Action impossible dans l'état actuel de la file",
        "agent_conflict": "Action impossible dans l'état actuel de l'agent",
        "user_conflict": "Action impossible dans l'état actuel de l'utilisateur",
        "last_admin": "L'organisation doit garder un administrateur actif",
        "not_permitted": "Vous ne pouvez pas accorder des droits que vous n'avez pas",
        "server_owned_field": "Ce champ est fixé par le serveur",
        "agent_unavailable": "L'agent n'est pas disponible",
        "agent_busy": "L'agent a déjà un ticket en cours",
        "duplicate": "Existe déjà",
        "contention": "Trop de modifications simultanées ; réessayez",
        "invalid_input": "Données invalides",
        "tenant_mismatch": "L'en-tête X-Tenant ne correspond pas au chemin",
        "unsupported_media_type": "Type de contenu non pris en charge",
        "too_many_requests": "Trop de requêtes",
        "too_many_attempts": "Trop de tentatives de connexion ; réessayez plus tard",
        "internal_error": "Erreur interne",
        "unavailable": "Service indisponible",
        "read_model_behind": "Les données demandées ne sont pas encore prêtes ; réessayez",
        "invalid_idempotency_key": "En-tête Idempotency-Key invalide",
        "idempotency_key_reused": "Idempotency-Key déjà utilisée pour une autre requête",
        "idempotency_key_in_flight": "Une requête avec cette Idempotency-Key est encore en cours",
        "idempotency_key_applied": "La requête avec cette Idempotency-Key a déjà été appliquée",
        "device_authentication_failed": "Identifiant d'appareil ou secret incorrect",
        "device_conflict": "Action impossible dans l'état actuel de l'appareil",
        "device_revoked": "L'appareil a été révoqué",
        "wrong_site": "Cet appareil ne peut agir que sur son propre site",
        "site_closed": "Le site est fermé pour le moment",
        "more_time_used": "Ce ticket a déjà obtenu plus de temps",
        "queue_full": "La file est complète ; réessayez plus tard",
        "join_code_required": "Ce site demande le code envoyé à votre téléphone",
        "join_code_invalid": "Le code est faux, expiré ou déjà utilisé",
        "join_code_locked": "Trop de codes faux ; demandez-en un nouveau",
        "join_code_off": "Ce site ne demande pas de code pour rejoindre la file",
        "slot_full": "Toutes les places de ce créneau sont prises",
        "too_late_to_book": "Ce créneau ne peut plus être réservé",
        "beyond_horizon": "Ce jour ne peut pas encore être réservé",
        "outside_opening_hours": "Le site n'est pas ouvert à cette heure",
        "customer_limit": "Le client a déjà le nombre maximal de rendez-vous pour ce jour",
        "too_late_to_cancel": "Ce rendez-vous ne peut plus être annulé ni déplacé",
        "appointment_closed": "Ce rendez-vous est clos (annulé, enregistré ou manqué)",
        "too_early": "L'enregistrement de ce rendez-vous n'est pas encore ouvert",
        "already_checked_in": "Ce rendez-vous est déjà enregistré",
        "no_queue_for_service": "Aucune file ouverte de ce site ne sert ce rendez-vous",
        "hold_expired": "La place n'est plus réservée ; choisissez à nouveau un créneau",
        "hold_not_found": "Réservation provisoire introuvable ; elle a peut-être expiré",
        "hold_still_live": "La réservation provisoire n'a pas encore expiré",
    },
}
DEFAULT_LANGUAGE = "en"


def preferred_language(accept_language: str | None) -> str:
    """The first supported language of an Accept-Language header (``fr-CA,fr;q=0.9`` -> ``fr``)."""
    if not accept_language:
        return DEFAULT_LANGUAGE
    weighted = []
    for position, part in enumerate(accept_language.split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        weighted.append((-quality, position, tag.strip().lower().split("-")[0]))
    for _, _, language in sorted(weighted):
        if language in TITLES:
            return language
    return DEFAULT_LANGUAGE


def title(code: str, language: str) -> str:
    """The translated title of an error code (English when the code has no translation)."""
    return TITLES.get(language, {}).get(code) or TITLES[DEFAULT_LANGUAGE].get(code, code)
